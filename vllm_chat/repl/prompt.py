"""The interactive loop: a prompt_toolkit session in front of `Chat`."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from pathlib import Path
from typing import TextIO

from prompt_toolkit import PromptSession
from prompt_toolkit.completion import CompleteEvent, Completer, Completion, PathCompleter
from prompt_toolkit.document import Document
from prompt_toolkit.filters import Condition, is_done
from prompt_toolkit.formatted_text import FormattedText
from prompt_toolkit.input import Input
from prompt_toolkit.input.typeahead import store_typeahead
from prompt_toolkit.input.vt100_parser import Vt100Parser
from prompt_toolkit.key_binding import KeyPress
from prompt_toolkit.layout import ConditionalContainer, Window, walk
from prompt_toolkit.output import Output
from prompt_toolkit.renderer import CPR_Support

from vllm_chat.chat.session import Chat, NoModelError
from vllm_chat.client.errors import ApiError, HTTPStatusError, RequestTimeout, ServerUnreachable
from vllm_chat.render.calls import call_name
from vllm_chat.render.environment import Environment
from vllm_chat.render.terminal import hold_typeahead, take_typeahead
from vllm_chat.render.text import sanitize, status_line, unexpected
from vllm_chat.repl import commands
from vllm_chat.repl.context import ContextCounter
from vllm_chat.repl.keys import EXIT_HINT, BlockState, configure_keys, key_bindings
from vllm_chat.store.history import open_history
from vllm_chat.store.journal import Journal

__all__ = ["EXIT_HINT", "Repl", "SlashCompleter", "failure_word"]

PROMPT_FAILURES = 3  # the prompt itself failing this many times in a row ends the session


PROMPT = FormattedText([("bold", "> ")])

class SlashCompleter(Completer):
    """Completes command names after `/`, and a command's arguments after it."""

    def __init__(self, chat: Chat) -> None:
        self._chat = chat
        self._paths = PathCompleter(expanduser=True)

    def get_completions(
        self, document: Document, complete_event: CompleteEvent
    ) -> Iterable[Completion]:
        text = document.text_before_cursor
        if not text.startswith("/") or "\n" in text:
            return
        name, space, partial = text[1:].partition(" ")
        if not space:
            for known in sorted(commands.COMMANDS):
                if known.startswith(name.lower()):
                    summary = commands.COMMANDS[known].summary
                    yield Completion("/" + known, -len(text), display_meta=summary)
            return
        entry = commands.COMMANDS.get(name.lower())
        if entry is None:
            return
        if entry.takes_path and (entry.arguments is None or _looks_like_path(partial)):
            yield from self._paths.get_completions(Document(partial), complete_event)
        if entry.arguments is None:
            return
        try:
            candidates = list(entry.arguments(self._chat))
        except ApiError:
            return
        for candidate in candidates:
            if candidate.startswith(partial):
                yield Completion(candidate, -len(partial))


def _looks_like_path(text: str) -> bool:
    return text.startswith((".", "~", "/")) or "/" in text


def _continuation(width: int, line_number: int, wrap_count: int) -> FormattedText:
    return FormattedText([("class:continuation", "…".ljust(width))])


def _show_toolbar_in_every_terminal(session: PromptSession[str], *, cpr: bool = True) -> None:
    """The bottom toolbar shows also where the terminal never reports the cursor position.

    prompt_toolkit draws it only once a cursor position report has come; a terminal
    that sends none (or `PROMPT_TOOLKIT_NO_CPR=1`) never got it. Now the toolbar waits
    for a report only while one may still come (never when `cpr` says the terminal
    is not asked), and the end of that wait redraws it (instead of printing
    prompt_toolkit's warning about the terminal).
    """
    renderer = session.app.renderer

    @Condition
    def shown() -> bool:
        if session.bottom_toolbar is None:
            return False
        if not cpr or renderer.height_is_known:
            return True
        return renderer.cpr_support == CPR_Support.NOT_SUPPORTED

    for container in walk(session.layout.container):
        if (
            isinstance(container, ConditionalContainer)
            and isinstance(container.content, Window)
            and container.content.style == "class:bottom-toolbar"
        ):
            container.filter = ~is_done & shown
    renderer.cpr_not_supported_callback = session.app.invalidate


def failure_word(exc: BaseException) -> str:
    """What went wrong, in one short word for the toolbar: `offline`, `401`, …"""
    if isinstance(exc, ServerUnreachable):
        return "offline"
    if isinstance(exc, RequestTimeout):
        return "timeout"
    if isinstance(exc, HTTPStatusError):
        return str(exc.status)
    if isinstance(exc, NoModelError):
        return "none listed"
    return "error"


class Repl:
    """Reads lines, runs commands, sends messages, until Ctrl-D or /exit.

    Nothing that goes wrong in a command or a turn ends it: an expected failure
    costs one line, a bug one line too (`unexpected ...`), and the prompt comes back.
    """

    def __init__(
        self,
        chat: Chat,
        *,
        history_file: Path | None,
        vi: bool = False,
        input: Input | None = None,
        output: Output | None = None,
        terminal: TextIO | None = None,
        env: Environment | None = None,
        journal: Journal | None = None,
    ) -> None:
        self.chat = chat
        self.journal = journal
        self.env = env or chat.env
        self.model_problem: str | None = None  # why the model list failed, for the toolbar
        # The toolbar's count of the context, from /tokenize after each change.
        self.context_count = ContextCounter(chat, on_count=self._redraw)
        self._block = BlockState()
        self.session: PromptSession[str] = PromptSession(
            message=PROMPT,
            multiline=True,
            prompt_continuation=_continuation,
            history=open_history(history_file),
            key_bindings=key_bindings(self._block),
            completer=SlashCompleter(chat),
            complete_while_typing=False,
            enable_history_search=False,
            enable_open_in_editor=False,  # bound in key_bindings(), to review before sending
            vi_mode=vi,
            bottom_toolbar=self.toolbar,
            mouse_support=False,
            input=input,
            output=output,
        )
        configure_keys(self.session.app, vi)
        _show_toolbar_in_every_terminal(self.session, cpr=self.env.cpr)
        if input is None:
            hold_typeahead()  # keys typed while an answer streams come to the next prompt
        if terminal is None and self.env.stdout_isatty:
            terminal = self.env.stdout
        self.context = commands.Context(
            chat,
            say=self.say,
            error=self.error,
            history_file=history_file,
            show_markdown=self.show_markdown,
            terminal=terminal,
            confirm=self.confirm,
            read_secret=self.read_secret,
            journal=journal,
        )

    def toolbar(self) -> str:
        """Model · context used of its length · last time to first token and speed."""
        chat = self.chat
        parts = [chat.model or f"model: {self.model_problem or 'asking the server…'}"]
        in_context = self.context_count.count()
        if in_context is None:
            in_context = chat.context_tokens
        if in_context is not None:
            limit = chat.max_model_len()
            parts.append(f"{in_context:,}{f' / {limit:,}' if limit else ''} tokens")
        stats = chat.last_stats
        if stats is not None and stats.usage is not None and stats.usage.cached_tokens is not None:
            parts.append(f"{stats.usage.cached_tokens:,} cached")
        if stats is not None and stats.ttft_ms is not None:
            parts.append(f"TTFT {stats.ttft_ms:,.0f} ms")
            if stats.tokens_per_second is not None:
                parts.append(f"{stats.tokens_per_second:.1f} tokens/s")
        if chat.attachments:
            parts.append(f"attached: {chat.attachments.describe()}")
        if self.journal is not None and self.journal.private:
            parts.append("private: nothing stored")
        return sanitize(" " + " · ".join(parts))

    def show_resumed(self) -> None:
        """Where a resumed chat stands: its id and title, then its last exchanges."""
        from vllm_chat.repl.commands.chats import show_last

        meta = self.journal.meta if self.journal is not None else None
        if meta is None:
            return
        turns = self.chat.conversation.turns
        self.say(f"continuing chat {meta.id} · {meta.title} · {commands.counted(turns, 'turn')}")
        show_last(self.context)

    def show_markdown(self, text: str) -> None:
        renderer = self.chat.make_renderer()
        renderer.feed(text)
        renderer.finish()

    def say(self, text: str) -> None:
        sys.stdout.write(sanitize(text) + "\n")
        sys.stdout.flush()

    def error(self, text: str) -> None:
        status_line(text, kind="error", env=self.env)

    def confirm(self, question: str) -> bool:
        """Ask `question` at a prompt of its own; only `y` or `yes` is a yes."""
        asking: PromptSession[str] = PromptSession(
            input=self.session.input, output=self.session.output
        )
        try:
            answer = asking.prompt(sanitize(question))
        except (EOFError, KeyboardInterrupt):
            return False
        return answer.strip().lower() in ("y", "yes")

    def read_secret(self, message: str) -> str:
        """A line typed at a prompt of its own that shows `*` for each character.

        That prompt has a history of its own, in memory and dropped after it,
        so the line is never in the prompt history (on disk or on Up).
        """
        hidden: PromptSession[str] = PromptSession(
            input=self.session.input, output=self.session.output
        )
        return hidden.prompt(sanitize(message), is_password=True)

    def follow_model_list(self, listing: Future[object]) -> None:
        """Show the start-up model list's outcome in the toolbar as soon as it is known."""
        listing.add_done_callback(self._model_listed)

    def _model_listed(self, listing: Future[object]) -> None:
        exc = listing.exception()
        if exc is not None and self.chat.model is None:
            self.model_problem = failure_word(exc)
        else:
            self.context_count.changed()  # a resumed chat: its model is known now
        self._redraw()

    def _redraw(self) -> None:
        """Redraw the toolbar; safe from any thread, with or without a prompt on screen."""
        with contextlib.suppress(RuntimeError):  # its event loop ended meanwhile: no redraw
            self.session.app.invalidate()

    def _feed_typeahead(self) -> None:
        """Keys typed while the last answer streamed (Ctrl-D left out) go to this prompt."""
        typed = take_typeahead()
        if not typed:
            return
        keys: list[KeyPress] = []
        parser = Vt100Parser(keys.append)
        parser.feed(typed.decode("utf-8", errors="surrogateescape"))
        parser.flush()
        store_typeahead(self.session.input, keys)

    def run(self) -> int:
        """Read and act on lines until Ctrl-D or /exit; the exit code (0).

        A bug in the prompt itself (a key binding, the toolbar) costs one line
        and a new prompt; only `PROMPT_FAILURES` of them in a row end the session.
        """
        failures = 0
        self.context_count.changed()  # a resumed chat is counted before the first line
        while True:
            self._block.open = False
            try:
                self._feed_typeahead()
                line = self.session.prompt(message=self.prompt_message())
            except EOFError:
                return 0
            except KeyboardInterrupt:
                continue
            except Exception as exc:
                failures += 1
                if failures >= PROMPT_FAILURES:
                    raise
                self.error(unexpected(exc))
                continue
            failures = 0
            if not self.handle(line):
                return 0

    def handle(self, line: str) -> bool:
        """Act on one submitted line; False when the user asked to leave.

        Whatever goes wrong is said in one line, and the conversation is as the
        command or the turn left it (a turn keeps what arrived, marked partial).
        """
        try:
            return self._act(line)
        except KeyboardInterrupt:  # Ctrl-C in a command (a slow /model, say): back to the prompt
            status_line("[interrupted]", kind="warn", env=self.env)
        except Exception as exc:  # a bug must not end the session or lose the conversation
            self.error(unexpected(exc))
        finally:
            self.chat.after_change()  # a command may have changed the chat: store it
            self.context_count.changed()  # and the toolbar counts it again (in the background)
        return True

    def _act(self, line: str) -> bool:
        text = line  # a typed `"""` block was unwrapped by Enter; anything else is as typed
        if not text.strip():
            return True
        parsed = commands.parse(text)
        if parsed is not None:
            try:
                commands.run(self.context, *parsed)
            except commands.ExitRequested:
                return False
            return True
        if self.chat.conversation.pending_tool_calls():  # the first waiting call's result
            if self.chat.give_tool_result(text) == 0:  # every call answered: the model goes on
                self._converse(self.chat.answer_tools)
            return True
        self._converse(lambda: self.chat.send(commands.message_text(text)))
        return True

    def _converse(self, turn: Callable[[], object]) -> None:
        """Run a turn; a failure is one line, Ctrl-C just brings the prompt back."""
        try:
            turn()
        except KeyboardInterrupt:
            pass  # the renderer marked the answer [interrupted]; the prompt comes back
        except ApiError as exc:
            if self.chat.model is None:  # the model list failed (again)
                self.model_problem = failure_word(exc)
            self.error(str(exc))

    def prompt_message(self) -> FormattedText:
        """`> `, or `result for NAME#ID> ` while the last answer's tool calls wait."""
        pending = self.chat.conversation.pending_tool_calls()
        if not pending:
            return PROMPT
        call = pending[0]
        return FormattedText([("bold", sanitize(f"result for {call_name(call)}#{call['id']}> "))])

"""The interactive loop: a prompt_toolkit session in front of `Chat`."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from concurrent.futures import Future
from pathlib import Path
from typing import TextIO

from prompt_toolkit import PromptSession
from prompt_toolkit.application import Application, get_app, run_in_terminal
from prompt_toolkit.buffer import Buffer
from prompt_toolkit.completion import CompleteEvent, Completer, Completion, PathCompleter
from prompt_toolkit.document import Document
from prompt_toolkit.filters import (
    Condition,
    emacs_mode,
    has_selection,
    is_done,
    is_searching,
    vi_mode,
    vi_navigation_mode,
)
from prompt_toolkit.formatted_text import FormattedText
from prompt_toolkit.input import Input
from prompt_toolkit.input.typeahead import store_typeahead
from prompt_toolkit.input.vt100_parser import Vt100Parser
from prompt_toolkit.key_binding import KeyBindings, KeyPress, KeyPressEvent
from prompt_toolkit.key_binding.bindings.search import (
    accept_search,
    accept_search_and_accept_input,
)
from prompt_toolkit.layout import ConditionalContainer, Window, walk
from prompt_toolkit.output import Output
from prompt_toolkit.renderer import CPR_Support

from vllm_chat.chat.session import Chat, NoModelError
from vllm_chat.client.api import ApiError, HTTPStatusError, RequestTimeout, ServerUnreachable
from vllm_chat.render.terminal import hold_typeahead, take_typeahead
from vllm_chat.render.text import sanitize, status_line, unexpected
from vllm_chat.repl import commands
from vllm_chat.repl.editor import EditorError, edit
from vllm_chat.store.history import open_history

BLOCK = '"""'
EXIT_HINT = "Ctrl-D or /exit to quit"


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
            for entry in sorted(commands.COMMANDS):
                if entry.startswith(name.lower()):
                    summary = commands.COMMANDS[entry].summary
                    yield Completion("/" + entry, -len(text), display_meta=summary)
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


# ---- keys: every key-binding decision is made here ---------------------------------------
#
# Enter sends; Alt-Enter and Ctrl-J insert a new line; a line that is exactly `"""` opens a
# block that Enter extends until a line ends in `"""`. In a Ctrl-R search, Enter sends the
# entry found, Esc or an arrow takes it back for editing, Ctrl-C gives the search up.
# Ctrl-X Ctrl-E (`v` in vi normal mode) edits the text in $VISUAL/$EDITOR and brings it
# back for review. In vi mode, Esc followed by Enter is Alt-Enter only when both came in
# one burst from the terminal (within VI_TTIMEOUTLEN), as vi tells Alt from Esc.

VI_TTIMEOUTLEN = 0.05  # seconds: an Esc alone by then is Esc (vi's `ttimeoutlen`)


class BlockState:
    """Whether Enter opened a `\"\"\"` block in the text being typed (a paste opens none)."""

    def __init__(self) -> None:
        self.open = False


def _first_line_is_block(text: str) -> bool:
    return text.split("\n", 1)[0].strip(" \t") == BLOCK


def _closes_block(text: str) -> bool:
    """A block's text whose last line (not its first) ends in `\"\"\"`."""
    lines = text.split("\n")
    return len(lines) > 1 and lines[-1].rstrip().endswith(BLOCK)


def unwrap_block(text: str) -> str:
    """The message inside a closed `\"\"\"` block: without its opening and closing quotes."""
    inner = text.split("\n", 1)[1].rstrip()
    return inner[: -len(BLOCK)].strip("\n")


@Condition
def _esc_came_with_the_next_key() -> bool:
    """Esc and the key after it arrived together: the terminal's Alt, not a typed Esc."""
    processor = get_app().key_processor
    return len(processor.key_buffer) > 1 or bool(processor.input_queue)


def key_bindings(block: BlockState) -> KeyBindings:
    """The prompt's own keys; they take precedence over prompt_toolkit's defaults."""
    bindings = KeyBindings()
    editing = ~is_searching

    @bindings.add("enter", filter=editing)
    def _send(event: KeyPressEvent) -> None:
        buffer = event.current_buffer
        text = buffer.text
        if block.open and not _first_line_is_block(text):
            block.open = False  # its opening line was edited away, or other text recalled
        if not block.open and text.strip(" \t") == BLOCK:
            block.open = True
            buffer.cursor_position = len(text)
            buffer.insert_text("\n")
        elif block.open and not _closes_block(text):
            buffer.insert_text("\n")
        else:
            if block.open:  # what is sent, and kept in the history, is the block's message
                block.open = False
                message = unwrap_block(text)
                buffer.document = Document(message, len(message))
            buffer.validate_and_handle()

    # Enter in a search accepts the entry found and sends it, as in bash and zsh.
    bindings.add("enter")(accept_search_and_accept_input)
    for arrow in ("left", "right", "up", "down"):
        bindings.add(arrow, filter=is_searching)(accept_search)

    @bindings.add("escape", "enter", filter=editing & (~vi_mode | _esc_came_with_the_next_key))
    @bindings.add("c-j", filter=editing)
    def _newline(event: KeyPressEvent) -> None:
        event.current_buffer.insert_text("\n")

    @bindings.add("c-c", filter=editing)
    def _clear(event: KeyPressEvent) -> None:
        buffer = event.current_buffer
        block.open = False
        if buffer.text:
            buffer.reset()
        else:
            run_in_terminal(lambda: print(EXIT_HINT))

    @bindings.add("c-x", "c-e", filter=emacs_mode & ~has_selection & editing)
    @bindings.add("v", filter=vi_navigation_mode)
    def _edit(event: KeyPressEvent) -> None:
        event.app.create_background_task(_edit_in_editor(event.current_buffer))

    return bindings


async def _edit_in_editor(buffer: Buffer) -> None:
    """Replace the buffer's text by what the editor saved; on failure, say so and keep it."""

    def run() -> str | None:
        try:
            return edit(buffer.text)
        except EditorError as exc:
            status_line(f"{exc}; the text is as it was", kind="error")
            return None

    edited = await run_in_terminal(run, in_executor=True)
    if edited is not None:
        edited = edited.removesuffix("\n")  # editors end the file with one
        buffer.document = Document(edited, len(edited))


def _configure_keys(app: Application[str], vi: bool) -> None:
    """Timing the key bindings depend on."""
    if vi:
        app.ttimeoutlen = VI_TTIMEOUTLEN


def _continuation(width: int, line_number: int, wrap_count: int) -> FormattedText:
    return FormattedText([("class:continuation", "…".ljust(width))])


def _show_toolbar_in_every_terminal(session: PromptSession[str]) -> None:
    """The bottom toolbar shows also where the terminal never reports the cursor position.

    prompt_toolkit draws it only once a cursor position report has come; a terminal
    that sends none (or `PROMPT_TOOLKIT_NO_CPR=1`) never got it. Now the toolbar waits
    for a report only while one may still come, and the end of that wait redraws it
    (instead of printing prompt_toolkit's warning about the terminal).
    """
    renderer = session.app.renderer

    @Condition
    def shown() -> bool:
        if session.bottom_toolbar is None:
            return False
        return renderer.height_is_known or renderer.cpr_support == CPR_Support.NOT_SUPPORTED

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
    """Reads lines, runs commands, sends messages, until Ctrl-D or /exit."""

    def __init__(
        self,
        chat: Chat,
        *,
        history_file: Path | None,
        vi: bool = False,
        input: Input | None = None,
        output: Output | None = None,
        terminal: TextIO | None = None,
    ) -> None:
        self.chat = chat
        self.model_problem: str | None = None  # why the model list failed, for the toolbar
        self._block = BlockState()
        self.session: PromptSession[str] = PromptSession(
            message=FormattedText([("bold", "> ")]),
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
        _configure_keys(self.session.app, vi)
        _show_toolbar_in_every_terminal(self.session)
        if input is None:
            hold_typeahead()  # keys typed while an answer streams come to the next prompt
        if terminal is None and sys.stdout.isatty():
            terminal = sys.stdout
        self.context = commands.Context(
            chat,
            say=self.say,
            error=self.error,
            history_file=history_file,
            show_markdown=self.show_markdown,
            terminal=terminal,
            confirm=self.confirm,
            read_secret=self.read_secret,
        )

    def toolbar(self) -> str:
        """Model · context used of its length · last time to first token and speed."""
        chat = self.chat
        parts = [chat.model or f"model: {self.model_problem or 'asking the server…'}"]
        if chat.context_tokens is not None:
            limit = chat.max_model_len()
            parts.append(f"{chat.context_tokens:,}{f' / {limit:,}' if limit else ''} tokens")
        stats = chat.last_stats
        if stats is not None and stats.ttft_ms is not None:
            parts.append(f"TTFT {stats.ttft_ms:,.0f} ms")
            if stats.tokens_per_second is not None:
                parts.append(f"{stats.tokens_per_second:.1f} tokens/s")
        if chat.attachments:
            parts.append(f"attached: {chat.attachments.describe()}")
        return sanitize(" " + " · ".join(parts))

    def show_markdown(self, text: str) -> None:
        renderer = self.chat.make_renderer()
        renderer.feed(text)
        renderer.finish()

    def say(self, text: str) -> None:
        sys.stdout.write(sanitize(text) + "\n")
        sys.stdout.flush()

    def error(self, text: str) -> None:
        status_line(text, kind="error")

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
        self.session.app.invalidate()  # thread-safe; nothing happens without a prompt

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
        while True:
            self._block.open = False
            self._feed_typeahead()
            try:
                line = self.session.prompt()
            except EOFError:
                return 0
            except KeyboardInterrupt:
                continue
            if not self.handle(line):
                return 0

    def handle(self, line: str) -> bool:
        """Act on one submitted line; False when the user asked to leave."""
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
        try:
            self.chat.send(commands.message_text(text))
        except KeyboardInterrupt:
            pass  # the renderer marked the answer [interrupted]; the prompt comes back
        except ApiError as exc:
            if self.chat.model is None:  # the model list failed (again)
                self.model_problem = failure_word(exc)
            self.error(str(exc))
        except Exception as exc:  # a bug must not end the session or lose the conversation
            self.error(unexpected(exc))
        return True

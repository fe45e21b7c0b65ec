"""The interactive loop: a prompt_toolkit session in front of `Chat`."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from prompt_toolkit import PromptSession
from prompt_toolkit.application import run_in_terminal
from prompt_toolkit.completion import CompleteEvent, Completer, Completion, PathCompleter
from prompt_toolkit.document import Document
from prompt_toolkit.formatted_text import FormattedText
from prompt_toolkit.input import Input
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.output import Output

from vllm_chat import commands
from vllm_chat.api import ApiError
from vllm_chat.chat import Chat
from vllm_chat.history import open_history
from vllm_chat.render import sanitize, status_line, unexpected

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


def _in_open_block(text: str) -> bool:
    """Inside a `\"\"\"` block that its closing `\"\"\"` has not ended yet."""
    stripped = text.strip()
    return stripped.startswith(BLOCK) and not (len(stripped) >= 6 and stripped.endswith(BLOCK))


def unwrap_block(text: str) -> str:
    """The message inside a `\"\"\"` block; any other text as it is."""
    stripped = text.strip()
    if stripped.startswith(BLOCK) and len(stripped) >= 6 and stripped.endswith(BLOCK):
        return stripped[3:-3].strip("\n")
    return text


def key_bindings() -> KeyBindings:
    bindings = KeyBindings()

    @bindings.add("enter")
    def _send(event: KeyPressEvent) -> None:
        buffer = event.current_buffer
        if _in_open_block(buffer.text):
            buffer.insert_text("\n")
        else:
            buffer.validate_and_handle()

    @bindings.add("escape", "enter")
    @bindings.add("c-j")
    def _newline(event: KeyPressEvent) -> None:
        event.current_buffer.insert_text("\n")

    @bindings.add("c-c")
    def _clear(event: KeyPressEvent) -> None:
        buffer = event.current_buffer
        if buffer.text:
            buffer.reset()
        else:
            run_in_terminal(lambda: print(EXIT_HINT))

    return bindings


def _continuation(width: int, line_number: int, wrap_count: int) -> FormattedText:
    return FormattedText([("class:continuation", "…".ljust(width))])


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
        self.session: PromptSession[str] = PromptSession(
            message=FormattedText([("bold", "> ")]),
            multiline=True,
            prompt_continuation=_continuation,
            history=open_history(history_file),
            key_bindings=key_bindings(),
            completer=SlashCompleter(chat),
            complete_while_typing=False,
            enable_history_search=False,
            enable_open_in_editor=True,  # Ctrl-X Ctrl-E (v in vi mode)
            vi_mode=vi,
            bottom_toolbar=self.toolbar,
            mouse_support=False,
            input=input,
            output=output,
        )
        if terminal is None and sys.stdout.isatty():
            terminal = sys.stdout
        self.context = commands.Context(
            chat,
            say=self.say,
            error=self.error,
            history_file=history_file,
            show_markdown=self.show_markdown,
            terminal=terminal,
        )

    def toolbar(self) -> str:
        """Model · context used of its length · last time to first token and speed."""
        chat = self.chat
        parts = [chat.model or "model: asking the server…"]
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

    def run(self) -> int:
        while True:
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
        text = unwrap_block(line)
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
            self.error(str(exc))
        except Exception as exc:  # a bug must not end the session or lose the conversation
            self.error(unexpected(exc))
        return True

"""Showing answers as plain text, and the choice of renderer for an output.

The Markdown renderer lives in `stream.py`, imported only when chosen, so that
the plain path (`-q` into a pipe) never loads `rich`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any, BinaryIO, Protocol, TextIO

from vllm_chat.render.calls import NOT_JSON, call_arguments, call_head, final_arguments
from vllm_chat.render.environment import Environment
from vllm_chat.render.later import Later
from vllm_chat.render.text import LineEnds, sanitize, status_line, styled


class Renderer(Protocol):
    """What `Chat` needs from anything that shows an answer as it streams."""

    def feed_reasoning(self, text: str) -> None: ...

    def end_reasoning(self, summary: str | None = None) -> None:
        """The thinking is over; `summary` (collapse mode) replaces it where possible."""

    def feed(self, text: str) -> None: ...

    def feed_calls(self, calls: Sequence[Mapping[str, Any]]) -> bool:
        """The answer's tool calls so far, all of them in index order, each time one
        grows; at `finish` they are complete. False: this renderer does not show them
        (a pipe), and the chat reports them once the answer is over."""

    def finish(self, note: str | None = None) -> None:
        """The answer is over; `note` (such as "interrupted") marks a partial one."""


class PlainRenderer:
    """Raw text as it arrives.

    To a pipe or a file the answer is data and goes out byte for byte (plus a
    final newline if it lacks one); on a terminal it is sanitised first.
    Reasoning goes to `side` (stderr) only when that is a terminal, so stdout
    holds the answer and nothing else. What is a terminal, and what may be
    coloured, `env` says (by default, what this process has).
    """

    def __init__(
        self, out: TextIO, side: TextIO | None = None, *, env: Environment | None = None
    ) -> None:
        env = env or Environment.detect()
        self._env = env
        self._out = out
        self._terminal = env.isatty(out)
        buffer = getattr(out, "buffer", None)
        self._bytes = PacedWriter(buffer) if buffer is not None and not self._terminal else None
        self._side = side if env.isatty(side) else None
        self._last = "\n"
        self._reasoning_open = False
        self._color = env.color(out)
        self._line_ends = LineEnds()
        self._calls: Sequence[Mapping[str, Any]] = ()
        self._call_shown: list[int] = []  # how much of each call's arguments is written
        self._call_writing: int | None = None  # the call whose arguments were written last

    def feed_reasoning(self, text: str) -> None:
        if self._side is None:
            return
        if not self._reasoning_open:
            self._reasoning_open = True
            self._side.write(styled("Thinking…\n", "2;1", self._color))
        self._side.write(styled(sanitize(text), "2", self._color))
        self._side.flush()

    def end_reasoning(self, summary: str | None = None) -> None:
        """Already shown as it came, the thinking cannot fold here; the summary follows it."""
        if not self._reasoning_open or self._side is None:
            return
        self._reasoning_open = False
        tail = f"\n{styled(summary, '2', self._color)}" if summary else ""
        self._side.write(f"{tail}\n\n")
        self._side.flush()

    def feed(self, text: str) -> None:
        if not text:
            return
        self.end_reasoning()
        if self._call_writing is not None:  # content after a call starts on a line of its own
            self._call_writing = None
            self._write("\n")
        self._write(sanitize(self._line_ends.feed(text)) if self._terminal else text)

    def feed_calls(self, calls: Sequence[Mapping[str, Any]]) -> bool:
        """On a terminal, each call's head, then its arguments as they come (a head
        again when another call's arguments grow meanwhile)."""
        if not self._terminal:
            return False
        self.end_reasoning()
        self._calls = calls
        for index, call in enumerate(calls):
            new_call = index == len(self._call_shown)
            if new_call:
                self._call_shown.append(0)
            arguments = call_arguments(call)
            grown = arguments[self._call_shown[index] :]
            if new_call or (grown and index != self._call_writing):
                lead = "" if self._last == "\n" else "\n"
                self._write(f"{lead}{styled(call_head(call), '1;36', self._color)} ")
                self._call_writing = index
            self._write(sanitize(grown))
            self._call_shown[index] = len(arguments)
        return True

    def finish(self, note: str | None = None) -> None:
        self._write(self._line_ends.finish())
        for call in self._calls:
            if not final_arguments(call)[1]:
                self._write(f"\n{styled(f'{call_head(call)}: {NOT_JSON}', '33', self._color)}")
        if self._last != "\n":
            self._write("\n")
        if self._bytes is not None:
            self._bytes.close()
        self._out.flush()
        if note:
            stream = self._out if self._terminal else None
            status_line(f"[{note}]", kind="warn", stream=stream, env=self._env)

    def _write(self, text: str) -> None:
        if not text:  # a delta that was nothing but control characters
            return
        self._last = text[-1]
        if self._bytes is not None:
            self._bytes.write(text.encode("utf-8", errors="surrogateescape"))
        else:
            self._out.write(text)
            self._out.flush()


class PacedWriter:
    """Bytes to a pipe or file, flushed at most every `interval` s and never held longer.

    Flushing every delta costs a system call per token; at hundreds of tokens
    per second that is most of what a plain `-q` spends. A timer flushes what
    waits when the stream pauses, so a reader (`| tee`) never sees it stall.
    """

    def __init__(self, out: BinaryIO, interval: float = 0.05) -> None:
        self._out = out
        self._interval = interval
        self._pending: list[bytes] = []
        self._lock = threading.Lock()
        self._later = Later(self._flush_by_timer)
        self._held = False  # bytes wait for the timer
        self._last_flush = 0.0
        self._error: OSError | None = None  # met by the timer, raised to the writer

    @property
    def due(self) -> float:
        """When the next flush may come (`time.monotonic`)."""
        return self._last_flush + self._interval

    def write(self, data: bytes) -> None:
        with self._lock:
            self._raise_pending_error()
            self._pending.append(data)
            if time.monotonic() >= self.due:
                self._flush_locked()
            elif not self._held:
                self._held = True
                self._later.at(self.due)

    def flush(self) -> None:
        with self._lock:
            self._raise_pending_error()
            self._flush_locked()

    def close(self) -> None:
        """Flush, and end the timer's thread."""
        try:
            self.flush()
        finally:
            self._later.close()

    def _flush_by_timer(self) -> None:
        with self._lock:
            try:
                self._flush_locked()
            except OSError as exc:  # a closed pipe: the writer raises it on its next call
                self._error = exc

    def _flush_locked(self) -> None:
        if self._held:
            self._later.cancel()
            self._held = False
        data, self._pending = b"".join(self._pending), []
        self._last_flush = time.monotonic()
        if data:
            self._out.write(data)
        self._out.flush()

    def _raise_pending_error(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error


def make_renderer(
    env: Environment, *, code_theme: str = "monokai", tokens: bool = False, legend: bool = False
) -> Renderer:
    """The best renderer for `env`'s stdout: Markdown on a terminal that can draw, else text.

    `tokens`: the token view instead of Markdown (token probabilities are on), its
    `legend` first."""
    if env.markdown and tokens:
        from vllm_chat.render.tokens import TokenRenderer

        return TokenRenderer(env.stdout, env.stderr, env=env, legend=legend)
    if env.markdown:
        from vllm_chat.render.stream import MarkdownRenderer

        return MarkdownRenderer(env=env, code_theme=code_theme)
    return PlainRenderer(env.stdout, env.stderr, env=env)

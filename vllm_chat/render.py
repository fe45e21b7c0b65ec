"""Showing answers: plain renderers, terminal-safe text and status lines.

The Markdown renderer lives in `stream_markdown.py` so that this module, which
every mode imports, never pulls in `rich`.
"""

from __future__ import annotations

import os
import re
import sys
import threading
import time
from typing import BinaryIO, Protocol, TextIO

# Escape sequences a model could use to drive the terminal: CSI, OSC (title,
# clipboard `ESC ]52`, links `ESC ]8`), DCS/SOS/PM/APC strings and the short
# two-byte forms. Removed whole so that no part of them acts.
_ESCAPES = re.compile(
    r"""
    \x1b\[[0-?]*[ -/]*[@-~]?          # CSI
  | \x1b\][^\x07\x1b]*(?:\x07|\x1b\\)? # OSC, ended by BEL or ST
  | \x1b[PX^_][^\x1b]*(?:\x1b\\)?      # DCS, SOS, PM, APC
  | \x1b[ -/]*[0-~]?                   # other escapes (and a lone ESC)
    """,
    re.VERBOSE,
)
# Other C0 controls (tab and newline stay), DEL and the C1 range.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)  # Unicode "control pictures": ␇ for BEL, ␈ for BS...
    return "\u2421" if code == 0x7F else "\ufffd"


def sanitize(text: str) -> str:
    """Text safe to show on a terminal: escapes removed, other controls made visible."""
    if not _CONTROLS.search(text):  # the common case costs one C-level scan
        return text
    text = text.replace("\r\n", "\n")
    return _CONTROLS.sub(_visible, _ESCAPES.sub("", text))


class LineEnds:
    """CRLF and lone CR become LF, also when a delta ends between the two.

    A server's tokenizer may send `\r` and `\n` as separate tokens; each delta
    normalised alone would leave a `\r` for the screen to show as `␍`.
    """

    def __init__(self) -> None:
        self._held_cr = False

    def feed(self, text: str) -> str:
        if not self._held_cr and "\r" not in text:
            return text
        if self._held_cr:
            text, self._held_cr = "\r" + text, False
        if text.endswith("\r"):
            text, self._held_cr = text[:-1], True
        return text.replace("\r\n", "\n").replace("\r", "\n")

    def finish(self) -> str:
        """What is still held back at the end of the answer."""
        held, self._held_cr = self._held_cr, False
        return "\n" if held else ""

    def whole(self, text: str) -> str:
        return self.feed(text) + self.finish()


def color_enabled(stream: TextIO) -> bool:
    return stream.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


class Renderer(Protocol):
    """What `Chat` needs from anything that shows an answer as it streams."""

    def feed_reasoning(self, text: str) -> None: ...

    def end_reasoning(self, summary: str | None = None) -> None:
        """The thinking is over; `summary` (collapse mode) replaces it where possible."""

    def feed(self, text: str) -> None: ...

    def finish(self, note: str | None = None) -> None:
        """The answer is over; `note` (such as "interrupted") marks a partial one."""


class PlainRenderer:
    """Raw text as it arrives.

    To a pipe or a file the answer is data and goes out byte for byte (plus a
    final newline if it lacks one); on a terminal it is sanitised first.
    Reasoning goes to `side` (stderr) only when that is a terminal, so stdout
    holds the answer and nothing else.
    """

    def __init__(self, out: TextIO, side: TextIO | None = None) -> None:
        self._out = out
        self._terminal = out.isatty()
        buffer = getattr(out, "buffer", None)
        self._bytes = PacedWriter(buffer) if buffer is not None and not self._terminal else None
        self._side = side if side is not None and side.isatty() else None
        self._last = "\n"
        self._reasoning_open = False
        self._color = color_enabled(out)
        self._line_ends = LineEnds()

    def feed_reasoning(self, text: str) -> None:
        if self._side is None:
            return
        if not self._reasoning_open:
            self._reasoning_open = True
            self._side.write(_style("Thinking…\n", "2;1", self._color))
        self._side.write(_style(sanitize(text), "2", self._color))
        self._side.flush()

    def end_reasoning(self, summary: str | None = None) -> None:
        """Already shown as it came, the thinking cannot fold here; the summary follows it."""
        if not self._reasoning_open or self._side is None:
            return
        self._reasoning_open = False
        tail = f"\n{_style(summary, '2', self._color)}" if summary else ""
        self._side.write(f"{tail}\n\n")
        self._side.flush()

    def feed(self, text: str) -> None:
        if not text:
            return
        self.end_reasoning()
        self._write(sanitize(self._line_ends.feed(text)) if self._terminal else text)

    def finish(self, note: str | None = None) -> None:
        self._write(self._line_ends.finish())
        if self._last != "\n":
            self._write("\n")
        if self._bytes is not None:
            self._bytes.flush()
        self._out.flush()
        if note:
            status_line(f"[{note}]", kind="warn", stream=self._out if self._terminal else None)

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
        self._timer: threading.Timer | None = None
        self._last_flush = 0.0
        self._error: OSError | None = None  # met by the timer, raised to the writer

    def write(self, data: bytes) -> None:
        with self._lock:
            self._raise_pending_error()
            self._pending.append(data)
            waited = time.monotonic() - self._last_flush
            if waited >= self._interval:
                self._flush_locked()
            elif self._timer is None:
                self._timer = threading.Timer(self._interval - waited, self._flush_by_timer)
                self._timer.daemon = True
                self._timer.start()

    def flush(self) -> None:
        with self._lock:
            self._raise_pending_error()
            self._flush_locked()

    def _flush_by_timer(self) -> None:
        with self._lock:
            try:
                self._flush_locked()
            except OSError as exc:  # a closed pipe: the writer raises it on its next call
                self._error = exc

    def _flush_locked(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        data, self._pending = b"".join(self._pending), []
        self._last_flush = time.monotonic()
        if data:
            self._out.write(data)
        self._out.flush()

    def _raise_pending_error(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error


_STYLES = {"error": "1;31", "warn": "33", "info": "2", "plain": ""}


def _style(text: str, sgr: str, enabled: bool) -> str:
    return f"\x1b[{sgr}m{text}\x1b[0m" if enabled and sgr else text


def status_line(text: str, *, kind: str = "info", stream: TextIO | None = None) -> None:
    """One line about the session (error, warning, notice): never on a piped stdout."""
    stream = stream or sys.stderr
    prefix = {"error": "error: ", "warn": ""}.get(kind, "")
    line = sanitize(prefix + text)
    stream.write(_style(line, _STYLES.get(kind, ""), color_enabled(stream)) + "\n")
    stream.flush()


def unexpected(exc: BaseException) -> str:
    """One line for an error nobody foresaw (VLLM_CHAT_DEBUG=1 shows the traceback)."""
    if os.environ.get("VLLM_CHAT_DEBUG"):
        import traceback

        traceback.print_exception(exc)
    return (
        f"unexpected {type(exc).__name__}: {exc} (please report it; VLLM_CHAT_DEBUG=1 shows where)"
    )


def make_renderer(out: TextIO, side: TextIO, *, markdown: bool = True, **options: object):
    """The best renderer for `out`: Markdown on a terminal, plain text otherwise."""
    if markdown and out.isatty() and os.environ.get("TERM") != "dumb":
        from vllm_chat.stream_markdown import MarkdownRenderer

        return MarkdownRenderer(**options)  # type: ignore[arg-type]
    return PlainRenderer(out, side)

"""An open code fence drawn live without the Markdown parser, and one taller than the
live region printed for good as its lines scroll off.

The live region shows a long open fence's last lines. The lines above them will
not change (while the fence is open each code line is highlighted alone), so as
soon as they leave the region they are printed above it, and never drawn again:
a 400-line block costs each redraw its last lines, and its bytes once. When the
fence ends, its rendering as one block is printed from the row after them; the
rows are counted by source line, at the width of that moment.
"""

from __future__ import annotations

from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

from vllm_chat.render.fences import Fence
from vllm_chat.render.livecache import LiveCache
from vllm_chat.render.markdown import (
    AnswerCode,
    Lines,
    fit,
)

DIM = Style(dim=True)


def _fence_parts(opening: str) -> tuple[str, str]:
    marker = opening[: len(opening) - len(opening.lstrip(opening[:1]))]
    return marker, opening[len(marker) :].strip()


def fence_head(opening: str, width: int) -> Lines:
    """The rows of a top-level fence's opening line, as `AnswerCode` draws it."""
    return fit([[Segment("".join(_fence_parts(opening.rstrip("\n"))), DIM)]], width)


def open_fence_lines(
    console: Console,
    source: str,
    width: int,
    code_theme: str,
    cache: LiveCache,
    fences: bool = True,
) -> Lines:
    """A top-level fence still open (`source` starts with its opening line), drawn as
    `markdown_lines` draws it but without parsing: its code lines come from `cache`.
    Without `fences`, only the rows of its complete code lines (one or more each)."""
    opening, _, code = source.partition("\n")
    marker, info = _fence_parts(opening)
    head, newline, last = code.rpartition("\n")
    if Fence(marker[0], len(marker), 0).closed_by(last):  # it closes as we speak
        code = head
    elif newline and not last.strip():  # a blank line at the end is not code yet
        code = head + newline
    block = AnswerCode(info.partition(" ")[0] or "text", code_theme)
    block.text = Text(code)
    rows = block.live_rows(console, width, cache)
    if not fences:
        return rows
    return fence_head(opening, width) + rows + fit([[Segment(marker, DIM)]], width)


class ScrolledFence:
    """The open top-level fence's lines printed so far (none: `done` is 0)."""

    def __init__(self, console: Console, code_theme: str, cache: LiveCache) -> None:
        self._console, self._theme, self._cache = console, code_theme, cache
        self.opening = ""  # the fence's opening line
        self.done = 0  # code lines printed
        self._printed = 0  # rows printed ...
        self._width = 0  # ... at this width

    def scrolled(self, lines: list[str], keep: int, width: int) -> Lines:
        """The rows to print now of `lines` (the fence's complete lines, its opening
        first): all but its last `keep` code lines, less those printed before."""
        end = len(lines) - keep
        if end <= 1 + self.done:
            return []
        first, self.opening = not self.done, lines[0]
        rows = self._code_rows("".join(lines[1 + self.done : end]), width)
        if first:
            rows, self._printed = fence_head(self.opening, width) + rows, 0
        elif width != self._width:  # resized: what was printed counted at this width
            self._printed = self._count(lines, width)
        self.done, self._width = end - 1, width
        self._printed += len(rows)
        return rows

    def live_source(self, lines: list[str], partial: str) -> str:
        """What the live region still shows: the fence's opening and its lines not printed."""
        return self.opening + "".join(lines[1 + self.done :]) + partial

    def live_rows(self, rows: Lines, width: int) -> Lines:
        """The live view of `live_source`, without the opening printed before."""
        return rows[len(fence_head(self.opening, width)) :]

    def rest(self, block: str, rows: Lines, width: int) -> Lines:
        """The finished fence's `rows` (rendered whole) after those printed; then none."""
        if width != self._width:
            self._printed = self._count(block.splitlines(keepends=True), width)
        printed, self.opening, self.done, self._printed = self._printed, "", 0, 0
        return rows[printed:]

    def _count(self, lines: list[str], width: int) -> int:
        """The rows, at `width`, of the fence's opening and its code lines printed."""
        code = "".join(lines[1 : 1 + self.done])
        return len(fence_head(lines[0], width)) + len(self._code_rows(code, width))

    def _code_rows(self, code: str, width: int) -> Lines:
        if not code:
            return []
        source = self.opening + code
        return open_fence_lines(self._console, source, width, self._theme, self._cache, False)

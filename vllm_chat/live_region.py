"""The live region: the bottom lines of the terminal, redrawn as an answer streams.

Lines above it are final: printed once, they scroll into the scrollback and
are never touched again. The region itself is rewritten from its first
changed line down (`ESC [ J` erases the rest), so a growing paragraph costs
one line per redraw, not the whole region. Lines are never padded to the
terminal width, and each fits it on any terminal (`answer_markdown.fit`), so
one line is one row and the cursor moves are exact. After a resize the rows
an old line now takes are counted as a reflowing terminal (tmux, VTE, kitty,
iTerm2, Windows Terminal) wraps it.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import COLOR_SYSTEMS, Console
from rich.segment import Segment

from vllm_chat.cells import widest

HIDE_CURSOR = "\x1b[?25l"
SHOW_CURSOR = "\x1b[?25h"
ERASE_BELOW = "\x1b[J"


def _common_prefix(old: list[str], new: list[str]) -> int:
    count = 0
    for before, after in zip(old, new, strict=False):
        if before != after:
            break
        count += 1
    return count


class LiveRegion:
    """Draws lines at the bottom of a console's terminal, and final lines above them."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._system = COLOR_SYSTEMS.get(console.color_system or "")
        self._shown: list[str] = []  # the region's lines as written
        self._widths: list[int] = []  # the most columns each may take
        self._columns = 0  # the terminal width they were written at
        self._cursor_hidden = False
        self.bytes_written = 0

    @property
    def lines(self) -> int:
        return len(self._shown)

    def show(self, region: Sequence[list[Segment]], above: Sequence[list[Segment]] = ()) -> None:
        """Print `above` for good, then make the region show `region` below it."""
        final = [self._ansi(line) for line in above]
        live = [self._ansi(line) for line in region]
        target = final + live
        columns = self._console.size.width
        out: list[str] = []
        if live and not self._cursor_hidden:
            out.append(HIDE_CURSOR)
            self._cursor_hidden = True
        if self._shown:  # the cursor is at the end of the region's last line
            keep = _common_prefix(self._shown, target) if columns == self._columns else 0
            if keep == len(self._shown) == len(target) and live:  # nothing to write
                self._shown, self._widths = live, self._widths[len(final) :]
                self._write("".join(out))
                return
            if keep == len(target) and live:
                keep -= 1  # the cursor must end at the end of the last line: rewrite it
            if keep < len(self._shown):
                up = sum(self._rows(width, columns) for width in self._widths[keep:]) - 1
                out.append("\r" + (f"\x1b[{up}A" if up else "") + ERASE_BELOW)
            elif keep < len(target) or not live:
                out.append("\n")
        else:
            keep = 0
        rest = target[keep:]
        out.append("\n".join(rest))
        if not live and rest:
            out.append("\n")
        self._shown = live
        self._widths = [widest(line_text) for line_text in self._plain(region)]
        self._columns = columns
        self._write("".join(out))

    def close(self) -> None:
        """Erase the region and give the cursor back."""
        self.show([])
        if self._cursor_hidden:
            self._cursor_hidden = False
            self._write(SHOW_CURSOR)

    @staticmethod
    def _rows(width: int, columns: int) -> int:
        return max(1, -(-width // max(1, columns)))

    @staticmethod
    def _plain(lines: Sequence[list[Segment]]) -> list[str]:
        return ["".join(segment.text for segment in line) for line in lines]

    def _ansi(self, line: list[Segment]) -> str:
        if self._console.no_color:
            line = list(Segment.remove_color(line))
        system = self._system
        return "".join(
            segment.style.render(segment.text, color_system=system)
            if segment.style
            else segment.text
            for segment in line
            if not segment.control
        )

    def _write(self, text: str) -> None:
        if not text:
            return
        self.bytes_written += len(text.encode("utf-8", errors="replace"))
        file = self._console.file
        file.write(text)
        file.flush()

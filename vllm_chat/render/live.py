"""The live region: the bottom lines of the terminal, redrawn as an answer streams.

Lines above it are final: printed once, they scroll into the scrollback and
are never touched again. The region is rewritten from its first changed line
down, so a growing paragraph costs one line per redraw, not the whole region;
a region whose lines moved up (the end of a block taller than it) has its top
rows deleted (the terminal moves the rest up), and only the new lines written.
Lines are never padded to the terminal width, and each fits it on any
terminal (`answer_markdown.fit`), so one line is one row and the cursor moves
are exact. After a resize the rows an old line now takes are counted as a
re-flowing terminal (tmux, VTE, kitty, iTerm2, Windows Terminal) wraps it;
erasing more rows than a cropping terminal (xterm) needs erases nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import COLOR_SYSTEMS, Console
from rich.segment import Segment

from vllm_chat.render.cells import widest
from vllm_chat.render.markdown import line_text
from vllm_chat.render.text import common_prefix

HIDE_CURSOR = "\x1b[?25l"
SHOW_CURSOR = "\x1b[?25h"
ERASE_LINE = "\x1b[2K"


def delete_rows(rows: int) -> str:
    """Delete `rows` rows at the cursor's: those below move up (nothing is below the region)."""
    return f"\x1b[{rows}M" if rows > 1 else "\x1b[M"


def _erase_rows(rows: int) -> str:
    """Erase `rows` rows from the cursor's down, and come back.

    Row by row, not with "erase below": tmux takes that at the top-left corner
    for clearing the screen and pushes the screen into its scrollback. Moving
    down stops at the last row, so erasing too many rows is harmless.
    """
    return "\x1b7" + ERASE_LINE + "\x1b[B\x1b[2K" * (rows - 1) + "\x1b8"


def _moved_up(shown: list[str], target: list[str], keep: int) -> int:
    """How many rows after the first `keep` to delete so that more rows stay as they are:
    the end of a block taller than the region moves its lines up at every redraw."""
    best, best_kept = 0, 1  # keeping one more row is not worth a deletion
    if keep >= len(target):
        return 0
    first = target[keep]
    for moved in range(1, len(shown) - keep - best_kept):
        if shown[keep + moved] == first:
            kept = common_prefix(shown[keep + moved :], target[keep:])
            if kept > best_kept:
                best, best_kept = moved, kept
    return best


class LiveRegion:
    """Draws lines at the bottom of a console's terminal, and final lines above them.

    Between two draws the cursor rests at the start of the region's first row:
    a terminal made narrower then re-flows the region downwards, and only final
    lines, above the cursor, can be pushed into the scrollback (tmux keeps the
    cursor's row and pushes what grew above it).
    """

    def __init__(self, console: Console) -> None:
        self._console = console
        self._system = COLOR_SYSTEMS.get(console.color_system or "")
        self._shown: list[str] = []  # the region's lines as written
        self._widths: list[int] = []  # the most columns each may take
        self._columns = 0  # the terminal width they were written at
        self._cursor_hidden = False

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
        shown, widths = self._shown, self._widths
        keep = common_prefix(shown, target) if columns == self._columns else 0
        moved = _moved_up(shown, target, keep) if columns == self._columns else 0
        if moved:  # rows below `keep` that moved up: delete those above them
            out.append("\n" * keep + delete_rows(moved) + (f"\x1b[{keep}A" if keep else ""))
            shown, widths = (
                shown[:keep] + shown[keep + moved :],
                widths[:keep] + widths[keep + moved :],
            )
            keep = common_prefix(shown, target)
        if keep == len(shown) == len(target):  # the same lines: only the top moves
            out.append("\n" * len(final))
        else:
            out.append("\n" * keep)  # each kept line is one row
            rows = sum(self._rows(width, columns) for width in widths[keep:]) + moved
            if rows:
                out.append(_erase_rows(rows))
            rest = target[keep:]
            out.append("\n".join(rest))
            row = keep + len(rest) - 1 if rest else keep  # where the cursor is now
            if live:
                up = row - len(final)
                out.append("\r" + (f"\x1b[{up}A" if up > 0 else ""))
            elif rest:
                out.append("\n")
        self._shown = live
        self._widths = [widest(line_text(line)) for line in region]
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
        file = self._console.file
        file.write(text)
        file.flush()

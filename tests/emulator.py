"""pyte, the terminal emulator the tests read screens with, made to delete lines as
terminals do, and a screen that keeps the rows scrolled off its top.

pyte's `delete_lines` (CSI M) moves the rows below the cursor up, but a row whose
replacement was never written (a blank row) keeps its old text instead of going
blank. xterm, tmux and VTE blank it; the live region relies on that when it moves
its lines up (`render.live.delete_rows`). Imported by `conftest.py`, so that every
screen of the suite emulates the same terminal.
"""

from __future__ import annotations

from collections import deque
from typing import Any, NamedTuple

import pyte
from pyte.screens import Margins


class Scrollback(NamedTuple):
    top: deque[Any]  # rows scrolled off the top, oldest first
    bottom: deque[Any]  # rows pushed off the bottom by a reverse index


class ScrollbackScreen(pyte.Screen):
    """pyte's `HistoryScreen` without its paging: the rows that scroll off the top are
    kept in `history.top`, as there (cleared by a reset and by `CSI 3 J`).

    `HistoryScreen` wraps every attribute it looks up, its own buffer and cursor
    included, to keep its pages in step: that was half of what playing an answer's
    output through pyte cost, and the tests never page.
    """

    def __init__(self, columns: int, lines: int, history: int = 100) -> None:
        self.history = Scrollback(deque(maxlen=history), deque(maxlen=history))
        super().__init__(columns, lines)

    def reset(self) -> None:
        super().reset()
        self.history.top.clear()
        self.history.bottom.clear()

    def erase_in_display(self, how: int = 0, *args: Any, **kwargs: Any) -> None:
        super().erase_in_display(how, *args, **kwargs)
        if how == 3:  # the scrollback too
            self.history.top.clear()
            self.history.bottom.clear()

    def index(self) -> None:
        top, bottom = self.margins or Margins(0, self.lines - 1)
        if self.cursor.y == bottom:
            self.history.top.append(self.buffer[top])
        super().index()

    def reverse_index(self) -> None:
        top, bottom = self.margins or Margins(0, self.lines - 1)
        if self.cursor.y == top:
            self.history.bottom.append(self.buffer[bottom])
        super().reverse_index()


def _delete_lines(self: pyte.Screen, count: int | None = None) -> None:
    count = count or 1
    top, bottom = self.margins or Margins(0, self.lines - 1)
    if top <= self.cursor.y <= bottom:
        self.dirty.update(range(self.cursor.y, self.lines))
        for y in range(self.cursor.y, bottom + 1):
            if y + count <= bottom and y + count in self.buffer:
                self.buffer[y] = self.buffer.pop(y + count)
            else:
                self.buffer.pop(y, None)  # the row below was blank: so is this one now
        self.carriage_return()


pyte.Screen.delete_lines = _delete_lines  # type: ignore[method-assign]

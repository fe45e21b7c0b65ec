"""pyte, the terminal emulator the tests read screens with, made to delete lines as
terminals do.

pyte's `delete_lines` (CSI M) moves the rows below the cursor up, but a row whose
replacement was never written (a blank row) keeps its old text instead of going
blank. xterm, tmux and VTE blank it; the live region relies on that when it moves
its lines up (`render.live.delete_rows`). Imported by `conftest.py`, so that every
screen of the suite emulates the same terminal.
"""

from __future__ import annotations

import pyte
from pyte.screens import Margins


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

"""Pure helpers for the fidelity tests (issue 10): every word on screen exactly once.

`words` and `missing_words` judge whether a reader can see every word of an answer,
`duplicated_lines` whether streaming left a line behind twice, `deltas` cuts an answer
the way a server might (anywhere, even inside a grapheme cluster), and `play` shows
terminal output on an emulated terminal with its scrollback.
"""

from __future__ import annotations

import collections
import html
import random
import re

import pyte
from pyte import modes
from wcwidth import iter_graphemes, wcswidth, wcwidth

from tests.emulator import ScrollbackScreen

__all__ = [
    "Screen",
    "deltas",
    "duplicated_lines",
    "missing_words",
    "play",
    "screen_lines",
    "strip_escapes",
    "words",
]

_WORD = re.compile(r"\w+")
# Whitespace, and the renderer's marks around a wrapped line: `↪` continues a code
# line on the next row, `▌` is a block quote's gutter on every row.
_SPACE = re.compile(r"\s+|↪|▌")
# A link whose text is its own URL: shown once, as the URL.
_SELF_LINK = re.compile(r"\[([^\]\n]+)\]\(<?\1>?\)")

# What a terminal acts on rather than shows: CSI, OSC, DCS/SOS/PM/APC strings, other
# escapes, and the remaining C0 controls but for the line end and tab.
_ESCAPE = re.compile(
    r"""
    \x1b\[[0-?]*[ -/]*[@-~]
  | \x1b\][^\x07\x1b]*(?:\x07|\x1b\\)
  | \x1b[PX^_][^\x1b]*\x1b\\
  | \x1b[ -/]*[0-~]
  | [\x00-\x08\x0b-\x1f\x7f]
    """,
    re.VERBOSE,
)


def words(text: str) -> collections.Counter[str]:
    """The words of a Markdown source a reader must see, with their counts.

    `html.unescape`, then the runs of `\\w` (Unicode): entities decode to what they show
    (`&lt;` is punctuation, `&copy;` too, `&#x41;` is the word `A`), Markdown syntax and
    punctuation are not words. `\\w` includes `_`, which is also Markdown syntax: the
    underscores at the ends of a run are dropped (`__bold__` is the word `bold`, a `___`
    rule is no word), those inside kept (`snake_case`). A link whose text is its URL
    (`[https://x](https://x)`) shows the URL once, so it counts once.
    """
    text = _SELF_LINK.sub(r"\1", text)
    found = (match.strip("_") for match in _WORD.findall(html.unescape(text)))
    return collections.Counter(word for word in found if word)


def missing_words(source: str, screen_lines: list[str]) -> list[str]:
    """The words of `source` that the screen shows fewer times than the source has them.

    The screen is one string with all whitespace removed (and the `↪` that continues a
    long code line, and a quote's `▌` gutter), so that a word wrapped over two lines
    still counts; a word is found as a substring, so that `snake` is seen in
    `snake_case`.
    """
    joined = _SPACE.sub("", "".join(screen_lines))
    return [word for word, count in words(source).items() if joined.count(word) < count]


def duplicated_lines(streamed_lines: list[str], reference_lines: list[str]) -> list[str]:
    """Non-blank lines (right-stripped) the streamed screen has more often than the reference."""
    streamed = collections.Counter(line.rstrip() for line in streamed_lines if line.strip())
    reference = collections.Counter(line.rstrip() for line in reference_lines if line.strip())
    return [line for line, count in streamed.items() if count > reference[line]]


def deltas(text: str, seed: int) -> list[str]:
    """`text` cut into pieces of 1 to 7 characters at seeded random points.

    The cuts are by `str` index, so they land anywhere: inside `**`, a fence line, a
    table row or a `\\r\\n`, and between the code points of one grapheme cluster (an
    emoji and its skin tone modifier, the parts of a ZWJ sequence, a letter and its
    combining accent).
    """
    rng = random.Random(seed)
    pieces = []
    start = 0
    while start < len(text):
        end = min(len(text), start + rng.randint(1, 7))
        pieces.append(text[start:end])
        start = end
    return pieces


def strip_escapes(output: str) -> str:
    """The text a program wrote to its terminal, without the escape sequences."""
    return _ESCAPE.sub("", output)


def _simple(cluster: str) -> bool:
    """A cluster pyte draws right on its own: one code point that takes a cell or two."""
    return len(cluster) == 1 and wcwidth(cluster) > 0


class Screen(ScrollbackScreen):
    """pyte's screen with scrollback, drawing a grapheme cluster in the cells it takes.

    Stock pyte draws code point by code point: it gives `👍🏽` four cells where `rich`
    (and the terminals it targets) use two, and it stops drawing the rest of the text
    at the first zero-width code point that is not a combining mark (the ZWJ of
    `👨‍👩‍👧`, a variation selector); it also NFC-normalises a letter and its combining
    accent, so that `e` + U+0301 no longer holds the word `e`. Those would be pyte's
    faults, not the renderer's, so a cluster of more than one code point goes into one
    cell (two if wide) here, as written.
    """

    def draw(self, data: str) -> None:
        if data.isascii():
            super().draw(data)
            return
        run: list[str] = []
        for cluster in iter_graphemes(data):
            if _simple(cluster):
                run.append(cluster)
                continue
            if run:
                super().draw("".join(run))
                run.clear()
            self._draw_cluster(cluster)
        if run:
            super().draw("".join(run))

    def _draw_cluster(self, cluster: str) -> None:
        width = wcswidth(cluster)
        if width <= 0:  # nothing visible (a lone ZWJ or selector): attach it, as pyte would
            width = 0
        if width and self.cursor.x == self.columns:
            if modes.DECAWM in self.mode:
                self.dirty.add(self.cursor.y)
                self.carriage_return()
                self.linefeed()
            else:
                self.cursor.x -= width
        line = self.buffer[self.cursor.y]
        if width == 0:
            if self.cursor.x:
                last = line[self.cursor.x - 1]
                line[self.cursor.x - 1] = last._replace(data=last.data + cluster)
            return
        if modes.IRM in self.mode:
            self.insert_characters(width)
        line[self.cursor.x] = self.cursor.attrs._replace(data=cluster)
        if width == 2 and self.cursor.x + 1 < self.columns:
            line[self.cursor.x + 1] = self.cursor.attrs._replace(data="")
        self.cursor.x = min(self.cursor.x + width, self.columns)
        self.dirty.add(self.cursor.y)


def screen_lines(screen: ScrollbackScreen) -> list[str]:
    """Scrollback then display, right-stripped, without the blank lines at the end."""
    # Not `screen.display`: pyte asserts there that a cell holds one code point of width.
    rows = [*screen.history.top, *(screen.buffer[y] for y in range(screen.lines))]
    lines = ["".join(row[x].data for x in range(screen.columns)).rstrip() for row in rows]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def play(output: str, columns: int, rows: int) -> list[str]:
    """What a terminal of `columns` x `rows` holds after `output`: scrollback, then screen.

    A tty's ONLCR turns "\\n" into "\\r\\n" on the way out; the emulator needs it spelt
    out. Lines are right-stripped and the blank lines at the end dropped.
    """
    screen = Screen(columns, rows, history=100_000)
    pyte.ByteStream(screen).feed(output.replace("\n", "\r\n").encode("utf-8"))
    return screen_lines(screen)

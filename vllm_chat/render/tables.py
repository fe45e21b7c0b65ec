"""Markdown tables for the terminal: cells never cut, and drawn row by row while they stream."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache, partial

from markdown_it.token import Token
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.markdown import Markdown, TableElement
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

from vllm_chat.render.cells import widest
from vllm_chat.render.livecache import LiveCache, text_key

_READABLE_COLUMN = 8  # narrower than this, a wrapped column is a list of word pieces


class AnswerTable(TableElement):
    """A table whose cells are never cut: wrapped columns, or one record per row."""

    cache: LiveCache | None = None
    open_row = False  # live, its last row still growing: it does not set the widths

    @classmethod
    def create(cls, markdown: Markdown, token: Token) -> AnswerTable:
        table = cls()
        table.cache = getattr(markdown, "cache", None)
        table.open_row = table.cache is not None and getattr(markdown, "open_end", False)
        return table

    def cells(self) -> tuple[list[Text], list[list[Text]]]:
        """The header's cells, and each row's."""
        header_row = self.header.row if self.header is not None else None
        headers = [cell.content for cell in header_row.cells] if header_row is not None else []
        rows = [[cell.content for cell in row.cells] for row in self.body.rows] if self.body else []
        return headers, rows

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        headers, rows = self.cells()
        yield from table_segments(console, options, headers, rows, self.cache, self.open_row)


def table_segments(
    console: Console,
    options: ConsoleOptions,
    headers: list[Text],
    rows: list[list[Text]],
    cache: LiveCache | None = None,
    open_row: bool = False,
) -> RenderResult:
    """A table's segments: wrapped columns that keep every word whole, or records.
    Live (`cache`), the header and each row are drawn alone and kept; with `open_row`
    the last row is still growing."""
    columns = max([len(headers), *(len(row) for row in rows)])
    if not columns:
        return
    # A growing last cell would widen its column at each redraw, and every row
    # cached at the old widths would be drawn again: it wraps until its row is done.
    cells = [headers, *rows[:-1]] if open_row and rows[:-1] else [headers, *rows]
    natural = [0] * columns
    least = [0] * columns
    for row in cells:
        for index, cell in enumerate(row):
            width, longest = _measure(cell.plain)
            natural[index] = max(natural[index], width)
            least[index] = max(least[index], longest)
    pairs = zip(least, natural, strict=True)
    least = [max(low, min(_READABLE_COLUMN, high)) for low, high in pairs]
    room = options.max_width - _overhead(columns)
    widths = _fit_columns(natural, least, room)
    if widths is None:
        yield from _records(headers, rows)
    elif cache is None:
        yield from _drawn(console, widths, headers, rows)
    else:  # live: the header and each row rendered alone, the same at these widths
        head = ("table head", options.max_width, *widths, *map(text_key, headers))
        yield from cache.get(head, partial(_drawn, console, widths, headers))
        if sum(natural) <= room and all(_left(row[-1]) for row in cells if len(row) == columns):
            # Room a left-aligned last column does not fill is trailing blanks, never
            # shown (the rule under the header is drawn at the true widths): given all
            # of it, the rows drawn at it stay right when a longer cell comes.
            widths = [*widths[:-1], room - sum(widths[:-1])]
        sizes = (options.max_width, *widths)
        for row in rows:
            key = ("table row", sizes, tuple(text_key(cell) for cell in row))
            yield from cache.get(key, partial(_drawn, console, widths, [], [row]))


def _records(headers: list[Text], rows: list[list[Text]]) -> RenderResult:
    for number, row in enumerate(rows):
        if number:
            yield Text()
        for index, cell in enumerate(row):
            header = headers[index] if index < len(headers) else Text()
            line = Text()
            if header.plain:
                line.append_text(header.copy())
                line.stylize("bold")
                line.append(": ")
            line.append_text(cell)
            yield line


@lru_cache(maxsize=1024)
def _measure(plain: str) -> tuple[int, int]:
    """A cell's width, and its longest word's (kept: a live table measures them each redraw)."""
    width = max(map(cell_len, plain.split("\n")))
    return width, max((widest(word) for word in plain.split()), default=0)


def _left(cell: Text) -> bool:
    return cell.justify in (None, "default", "left")


# rich's `box.SIMPLE` table without its edges, padding collapsed: a cell is padded by
# one column on its right (but the last), then comes a blank of the border.
_GAP = 2


def _overhead(columns: int) -> int:
    """The columns a table's gaps take, besides its cells."""
    return _GAP * (columns - 1)


def _drawn(
    console: Console, widths: list[int], headers: list[Text], rows: Sequence[list[Text]] = ()
) -> list[Segment]:
    """The table's lines: its header (if it has one) and the rule under it, then its rows."""
    lines: list[list[Segment]] = []
    if headers:
        heads = []
        for index in range(len(widths)):
            heading = headers[index].copy() if index < len(headers) else Text()
            heading.stylize("markdown.table.header")
            heads.append(heading)
        lines += _row_lines(console, widths, heads, console.get_style("table.header"), True)
        rule = "─" * (sum(widths) + _overhead(len(widths)))
        lines.append([Segment(rule, console.get_style("markdown.table.border"))])
    for row in rows:
        lines += _row_lines(console, widths, row)
    return [segment for line in lines for segment in (*line, Segment.line())]


def _row_lines(
    console: Console,
    widths: list[int],
    row: list[Text],
    style: Style | None = None,
    bottom: bool = False,
) -> list[list[Segment]]:
    """A row's lines: its cells side by side, each at its column's width; a header's
    cells at the bottom of their row, as rich aligns them."""
    style = style or Style.null()
    border = Segment(" ", console.get_style("markdown.table.border"))
    pad = Segment(" ", style)
    cells = [
        _cell_lines(console, row[index] if index < len(row) else Text(), width, style)
        for index, width in enumerate(widths)
    ]
    height = max(map(len, cells), default=0)
    lines: list[list[Segment]] = []
    for number in range(height):
        line: list[Segment] = []
        for index, (width, cell) in enumerate(zip(widths, cells, strict=True)):
            if index:
                line.append(border)
            at = number - (height - len(cell) if bottom else 0)
            line += cell[at] if 0 <= at < len(cell) else [Segment(" " * width, style)]
            if index < len(widths) - 1:
                line.append(pad)
        lines.append(line)
    return lines


def _cell_lines(console: Console, cell: Text, width: int, style: Style) -> list[list[Segment]]:
    """A cell's lines, wrapped (`fold`: long words too), justified and padded to `width`."""
    plain = cell.plain
    simple = not plain[-1:].isspace() and "\n" not in plain and "\t" not in plain
    if simple and cell_len(plain) <= width:  # most cells: nothing to wrap
        spare = width - cell.cell_len
        left = {"right": spare, "center": spare // 2}.get(cell.justify or "", 0)
        texts = [cell]
    else:
        texts, left = list(cell.wrap(console, width, overflow="fold")), 0
    lines = []
    for text in texts:
        line = [Segment(" " * left, style)] if left else []
        line += [Segment(part.text, style + part.style) for part in text.render(console)]
        if (right := width - left - text.cell_len) > 0:
            line.append(Segment(" " * right, style))
        lines.append(line)
    return lines


def _fit_columns(natural: list[int], least: list[int], room: int) -> list[int] | None:
    """Column widths within `room`: natural where they fit, never under `least`."""
    if sum(least) > room:
        return None
    widths = list(natural)
    excess = sum(widths) - room
    while excess > 0:  # take a column from the one with most to spare
        index = max(range(len(widths)), key=lambda i: widths[i] - least[i])
        widths[index] -= 1
        excess -= 1
    return widths

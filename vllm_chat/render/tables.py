"""Markdown tables for the terminal: cells never cut, and drawn row by row while they stream."""

from __future__ import annotations

from functools import partial
from typing import Any

from markdown_it.token import Token
from rich import box
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.markdown import Markdown, TableElement
from rich.measure import Measurement
from rich.segment import Segment
from rich.table import Table
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

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        header_row = self.header.row if self.header is not None else None
        headers = [cell.content for cell in header_row.cells] if header_row is not None else []
        rows = [[cell.content for cell in row.cells] for row in self.body.rows] if self.body else []
        columns = max([len(headers), *(len(row) for row in rows)])
        if not columns:
            return
        # A growing last cell would widen its column at each redraw, and every row
        # cached at the old widths would be drawn again: it wraps until its row is done.
        cells = [headers, *rows[:-1]] if self.open_row and rows[:-1] else [headers, *rows]
        natural = [0] * columns
        least = [0] * columns
        for row in cells:
            for index, cell in enumerate(row):
                plain = cell.plain
                natural[index] = max(natural[index], *map(cell_len, plain.split("\n")))
                longest = max((widest(word) for word in plain.split()), default=0)
                least[index] = max(least[index], longest)
        pairs = zip(least, natural, strict=True)
        least = [max(low, min(_READABLE_COLUMN, high)) for low, high in pairs]
        room = options.max_width - _overhead(columns, console, options)
        widths = _fit_columns(natural, least, room)
        if widths is None:
            yield from self._records(headers, rows)
        elif self.cache is None:
            yield self._table(widths, headers, rows)
        else:  # live: the header and each row rendered alone, the same at these widths
            drawn = partial(self._drawn, console, options)
            head = ("table head", options.max_width, *widths, *map(text_key, headers))
            yield from self.cache.get(head, partial(drawn, widths, headers, [], True))
            if sum(natural) <= room and all(_left(row[-1]) for row in cells if len(row) == columns):
                # Room a left-aligned last column does not fill is trailing blanks, never
                # shown (the rule under the header is drawn at the true widths): given all
                # of it, the rows drawn at it stay right when a longer cell comes.
                widths = [*widths[:-1], room - sum(widths[:-1])]
            sizes = (options.max_width, *widths)
            for row in rows:
                key = ("table row", sizes, bool(headers), tuple(text_key(cell) for cell in row))
                yield from self.cache.get(key, partial(drawn, widths, headers, [row], False))

    @classmethod
    def _drawn(cls, console: Console, options: ConsoleOptions, *table: Any) -> list[Segment]:
        rendered = console.render_lines(cls._table(*table), options, pad=False)
        return [segment for line in rendered for segment in (*line, Segment.line())]

    @staticmethod
    def _table(
        widths: list[int], headers: list[Text], rows: list[list[Text]], head: bool = True
    ) -> Table:
        table = _table_frame(show_header=head and bool(headers))
        for index, width in enumerate(widths):
            heading = headers[index].copy() if index < len(headers) else Text()
            heading.stylize("markdown.table.header")
            table.add_column(heading, width=width, overflow="fold")
        for row in rows:
            table.add_row(*row)
        return table

    @staticmethod
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


def _left(cell: Text) -> bool:
    return cell.justify in (None, "default", "left")


def _table_frame(show_header: bool = True) -> Table:
    return Table(
        box=box.SIMPLE,
        pad_edge=False,
        style="markdown.table.border",
        show_edge=False,
        collapse_padding=True,
        show_header=show_header,
    )


_OVERHEADS: dict[int, int] = {}


def _overhead(columns: int, console: Console, options: ConsoleOptions) -> int:
    """The columns a table's borders and padding take, besides its cells."""
    if columns not in _OVERHEADS:
        table = _table_frame()
        for _ in range(columns):
            table.add_column(width=1)
        _OVERHEADS[columns] = Measurement.get(console, options, table).maximum - columns
    return _OVERHEADS[columns]


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

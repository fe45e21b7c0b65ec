"""A streaming table drawn from its rows parsed one by one, each once.

Redrawing a growing table meant parsing all of it and walking all its tokens through
rich's Markdown again, at every redraw: most of the redraw's cost, for rows that did
not change. Here the header (with the delimiter row) is parsed once, and each row's line
once, alone under that header: a table's rows are independent in GFM, so the cells
are the ones the whole table's parse gives. Anything else (a line that is not a row, a
block after the table) and the caller parses the whole tail as before.
"""

from __future__ import annotations

from functools import partial

from markdown_it.token import Token
from rich.console import Console, ConsoleOptions, RenderResult
from rich.markdown import Markdown
from rich.text import Text

from vllm_chat.render.livecache import LiveCache
from vllm_chat.render.markdown import AnswerMarkdown, Lines, renderable_lines
from vllm_chat.render.tables import AnswerTable, table_segments

Cells = tuple[list[Text], list[list[Text]]]  # the header's cells, each row's
_TABLE_TOKENS = ("table_", "thead_", "tbody_", "tr_", "th_", "td_", "inline")
_DELIMITER = set("|:- \t")


def live_table_lines(
    console: Console, source: str, width: int, code_theme: str, cache: LiveCache
) -> Lines | None:
    """The lines of `source`, an open table, as `markdown_lines` draws them; None when
    it is not one table of whole rows (then parse it whole)."""
    lines = source.split("\n")
    if len(lines) < 3 or "|" not in lines[0] or not _is_delimiter(lines[1]):
        return None
    head = f"{lines[0]}\n{lines[1]}\n"
    body = lines[2:-1] if source.endswith("\n") else lines[2:]
    cells = partial(_cells, console, code_theme)
    parsed = cache.get(("table head cells", code_theme, head), partial(cells, head))
    if parsed is None or parsed[1]:
        return None
    keys = [("table row cells", code_theme, head, line) for line in body]
    new = [key for key in keys if key not in cache]
    fresh: dict[tuple[str, ...], list[Text]] = {}
    if new:  # the rows that came since the last redraw, parsed together
        found = cells(head + "".join(f"{key[-1]}\n" for key in new))
        if found is None or len(found[1]) != len(new):
            return None
        fresh = dict(zip(new, found[1], strict=True))
    rows = [fresh[key] if key in fresh else cache[key] for key in keys]
    for key, row in fresh.items():
        cache.put(key, row)
    table = _Rows(parsed[0], rows, cache, open_row=not source.endswith("\n"))
    return renderable_lines(console, table, width)


def _is_delimiter(line: str) -> bool:
    return "-" in line and set(line) <= _DELIMITER


def _cells(console: Console, code_theme: str, text: str) -> Cells | None:
    """The cells of the table that `text` is, as rich's Markdown makes them; None if
    `text` is anything else."""
    markdown = _CellsOf(text, code_theme)
    if not markdown.parsed or not all(t.type.startswith(_TABLE_TOKENS) for t in markdown.parsed):
        return None
    for _ in console.render(markdown):  # nothing is drawn: the cells' text is made
        pass
    if len(markdown.tables) != 1:
        return None
    return markdown.tables[0].cells()


class _Kept(AnswerTable):
    """A table element that keeps its cells for `_cells` and draws nothing."""

    @classmethod
    def create(cls, markdown: Markdown, token: Token) -> _Kept:
        table = cls()
        getattr(markdown, "tables", []).append(table)
        return table

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        return iter(())


class _CellsOf(AnswerMarkdown):
    elements = {**AnswerMarkdown.elements, "table_open": _Kept}

    def __init__(self, markup: str, code_theme: str) -> None:
        super().__init__(markup, code_theme)
        self.tables: list[_Kept] = []


class _Rows:
    """A table from its cells, drawn as `AnswerTable` draws it live."""

    def __init__(
        self, headers: list[Text], rows: list[list[Text]], cache: LiveCache, open_row: bool
    ) -> None:
        self._headers, self._rows, self._cache, self._open_row = headers, rows, cache, open_row

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield from table_segments(
            console, options, self._headers, self._rows, self._cache, self._open_row
        )

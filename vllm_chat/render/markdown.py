"""An answer's Markdown as terminal lines, with every word the model wrote kept.

`rich`'s Markdown is the base, changed where it would hide or mangle text:
- HTML is text. `List<String>`, `<br>`, `<kbd>` and a `<div>` block are shown
  as written: a terminal cannot render HTML, and hiding it hides words.
- A URL shows once: an autolink, or a link whose text is its URL, is the URL;
  other links are `text (URL)`; an image is `alt (URL)`.
- Reference definitions stay text: a streamed answer cannot know a definition
  that comes later, so `[text][ref]` and `[ref]: URL` both show as written.
- Code is copyable: no padding, no background fill, no added indent; a line
  too long for the screen wraps with a `↪` that keeps its indentation. The
  fence lines are shown (dim), so a selected block pastes as Markdown.
- Tables never cut a cell: columns wrap where each keeps its longest word (and
  a readable width); otherwise each row is shown as `Header: value` lines.
- Every line fits the screen on any terminal (see `cells.py`), with no
  trailing padding, so that nothing wraps behind the renderer's back.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from contextlib import suppress
from functools import lru_cache, partial
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token
from pygments.lexer import Lexer
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound
from rich import box
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.markdown import CodeBlock, Markdown, TableElement
from rich.measure import Measurement
from rich.segment import Segment
from rich.style import Style
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from vllm_chat.render.cells import cut_points, widest

Lines = list[list[Segment]]

_DIM = Style(dim=True)
_CONTINUED = "↪"
_READABLE_COLUMN = 8  # narrower than this, a wrapped column is a list of word pieces


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    return (
        MarkdownIt("commonmark", {"html": False})
        .enable(["strikethrough", "table"])
        .disable("reference")
    )


def _link_text(tokens: list[Token]) -> str:
    return "".join(token.content for token in tokens if token.type in ("text", "code_inline"))


def _images_as_text(children: list[Token]) -> list[Token]:
    out = []
    for token in children:
        if token.type == "image":
            alt, src = token.content, _with_title(token, "src")
            shown = f"{alt} ({src})" if alt and src and alt != src else alt or src
            token = Token("text", "", 0, content=shown)
        out.append(token)
    return out


def _with_title(token: Token, attribute: str) -> str:
    """A link's URL, and its title (a tooltip in HTML) after it as Markdown writes it."""
    url, title = str(token.attrs.get(attribute, "")), token.attrs.get("title")
    return f'{url} "{title}"' if title else url


def _urls_once(children: list[Token]) -> list[Token]:
    """Drop the link around text that is its own URL (autolinks, `[url](url)`)."""
    children = _images_as_text(children)
    out: list[Token] = []
    index = 0
    while index < len(children):
        token = children[index]
        if token.type == "link_open":
            close = next(
                (i for i in range(index + 1, len(children)) if children[i].type == "link_close"),
                len(children),
            )
            inner = children[index + 1 : close]
            text, href = _link_text(inner), str(token.attrs.get("href", ""))
            if token.markup == "autolink" or href in (text, f"mailto:{text}"):
                out.extend(inner)
                index = close + 1
                continue
            token.attrs["href"] = _with_title(token, "href")
        out.append(token)
        index += 1
    return out


def _prepared(tokens: list[Token]) -> list[Token]:
    for token in tokens:
        if token.type == "inline" and token.children:
            token.children = _urls_once(token.children)
    return tokens


def _split_segments(line: list[Segment], offsets: list[int]) -> Lines:
    """Cut a line of segments at character offsets of its text."""
    pieces: Lines = [[]]
    position = 0
    cuts = iter(offsets)
    cut = next(cuts, None)
    for segment in line:
        text, style = segment.text, segment.style
        while cut is not None and position + len(text) > cut:
            head = cut - position
            if head:
                pieces[-1].append(Segment(text[:head], style))
            pieces.append([])
            text, position = text[head:], cut
            cut = next(cuts, None)
        if text:
            pieces[-1].append(Segment(text, style))
        position += len(text)
    return pieces


def line_text(line: list[Segment]) -> str:
    return "".join(segment.text for segment in line if not segment.control)


class LiveCache:
    """A streaming tail's pieces rendered at one redraw, for the next: of a growing code
    block or table only the last line changed; its other code lines (highlighted one by
    one) and table rows (at the same column widths) come from here."""

    def __init__(self) -> None:
        self._items: dict[Hashable, list[Segment]] = {}

    def clear(self) -> None:
        self._items.clear()

    def get(self, key: Hashable, make: Callable[[], list[Segment]]) -> list[Segment]:
        if key not in self._items:
            if len(self._items) >= 4096:
                self._items.clear()
            self._items[key] = make()
        return self._items[key]


def _text_key(text: Text) -> Hashable:
    return text.plain, tuple((span.start, span.end, str(span.style)) for span in text.spans)


class AnswerCode(CodeBlock):
    """A code block shown as exactly its code, highlighted, between dim fence lines."""

    fence = ""
    info = ""
    cache: LiveCache | None = None

    @classmethod
    def create(cls, markdown: Markdown, token: Token) -> AnswerCode:
        block = cls((token.info or "").partition(" ")[0] or "text", markdown.code_theme)
        block.fence = token.markup if token.type == "fence" else ""
        block.info = token.info or ""
        block.cache = getattr(markdown, "cache", None)
        return block

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        code = str(self.text)
        if code.endswith("\n"):
            code = code[:-1]
        syntax = _syntax(self.lexer_name, self.theme)
        if self.fence:
            yield from self._fence_line(self.fence + self.info, width)
        if self.cache is not None:  # live: each line highlighted alone, once
            for source in code.split("\n"):
                key = ("code", self.lexer_name, self.theme, source, width)
                yield from self.cache.get(key, partial(self._lines, console, syntax, source, width))
        else:
            yield from self._lines(console, syntax, code, width)
        if self.fence:
            yield from self._fence_line(self.fence, width)

    @classmethod
    def _lines(cls, console: Console, syntax: Syntax, code: str, width: int) -> list[Segment]:
        highlighted = syntax.highlight(code)
        if highlighted.plain.endswith("\n"):
            highlighted.right_crop(1)
        out: list[Segment] = []
        for line in highlighted.split("\n", allow_blank=True):
            line.expand_tabs(4)
            out.extend(cls._code_line(console, line, width))
        return out

    @staticmethod
    def _fence_line(text: str, width: int) -> Iterator[Segment]:
        for piece in fit([[Segment(text, _DIM)]], width):
            yield from piece
            yield Segment.line()

    @staticmethod
    def _code_line(console: Console, line: Text, width: int) -> Iterator[Segment]:
        plain = line.plain
        segments = list(line.render(console, end=""))
        if widest(plain) <= width:
            yield from segments
            yield Segment.line()
            return
        indent = min(len(plain) - len(plain.lstrip(" ")), width // 2)
        prefix = " " * indent + _CONTINUED
        rest = max(1, width - len(prefix))
        for number, piece in enumerate(
            _split_segments(segments, cut_points(plain, rest, first=width))
        ):
            if number:
                yield Segment(" " * indent)
                yield Segment(_CONTINUED, _DIM)
            yield from piece
            yield Segment.line()


@lru_cache(maxsize=64)
def _syntax(lexer_name: str, theme: str) -> Syntax:
    """A highlighter, kept: `rich` would look up the lexer and the theme at every call."""
    lexer: Lexer | str = lexer_name  # if there is none, `Syntax` shows plain text
    with suppress(ClassNotFound):
        lexer = get_lexer_by_name(lexer_name, stripnl=False, ensurenl=True, tabsize=4)
    return Syntax("", lexer, theme=theme, background_color="default")


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
            head = ("table head", options.max_width, *widths, *map(_text_key, headers))
            yield from self.cache.get(head, partial(drawn, widths, headers, [], True))
            if sum(natural) <= room and all(_left(row[-1]) for row in cells if len(row) == columns):
                # Room a left-aligned last column does not fill is trailing blanks, never
                # shown (the rule under the header is drawn at the true widths): given all
                # of it, the rows drawn at it stay right when a longer cell comes.
                widths = [*widths[:-1], room - sum(widths[:-1])]
            sizes = (options.max_width, *widths)
            for row in rows:
                key = ("table row", sizes, bool(headers), tuple(_text_key(cell) for cell in row))
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


@lru_cache(maxsize=8)
def _markdown_settings(code_theme: str) -> dict[str, Any]:
    """The attributes `rich`'s Markdown sets up, for a theme (copied into each instance)."""
    return dict(vars(Markdown("", code_theme=code_theme, hyperlinks=False)))


class AnswerMarkdown(Markdown):
    """`rich`'s Markdown with the changes this module's docstring lists."""

    elements = {
        **Markdown.elements,
        "fence": AnswerCode,
        "code_block": AnswerCode,
        "table_open": AnswerTable,
    }

    def __init__(
        self, markup: str, code_theme: str = "monokai", cache: LiveCache | None = None
    ) -> None:
        # Not rich's __init__ at each redraw: it builds a parser (0.3 ms) and parses.
        self.__dict__.update(_markdown_settings(code_theme))
        self.cache = cache
        self.open_end = not markup.endswith("\n")  # its last line is still coming
        self.markup = markup
        self.parsed = _prepared(_parser().parse(markup))


def rstrip_line(line: list[Segment]) -> list[Segment]:
    """The line without trailing spaces: erasing to the line end replaces padding."""
    end = len(line)
    while end and not line[end - 1].control and not line[end - 1].text.rstrip():
        end -= 1
    if not end:
        return []
    last = line[end - 1]
    stripped = last.text.rstrip()
    return [*line[: end - 1], Segment(stripped, last.style, last.control)]


def _is_empty(line: list[Segment]) -> bool:
    return not any(segment.text for segment in line)


def trim(lines: Lines) -> Lines:
    """Drop the empty lines `rich` puts around some blocks; blocks are spaced by the caller."""
    start, end = 0, len(lines)
    while start < end and _is_empty(lines[start]):
        start += 1
    while end > start and _is_empty(lines[end - 1]):
        end -= 1
    return lines[start:end]


def fit(lines: Lines, width: int) -> Lines:
    """Lines that no terminal draws wider than `width`, cut where one would."""
    out: Lines = []
    for line in lines:
        text = line_text(line)
        if widest(text) <= width:
            out.append(line)
        else:
            out.extend(_split_segments(line, cut_points(text, width)))
    return out


def renderable_lines(console: Console, renderable: RenderableType, width: int) -> Lines:
    """Render to trimmed lines that fit `width` on any terminal.

    A line that a terminal may draw wider than `rich` counts (emoji sequences)
    is cut after its last word that fits, the same way whatever else is
    rendered with it, so that a block streamed alone looks as in the whole.
    """
    options = console.options.update(width=width, height=None)
    rendered = console.render_lines(renderable, options, pad=False)
    return fit(trim([rstrip_line(line) for line in rendered]), width)


def markdown_lines(
    console: Console,
    text: str,
    width: int,
    code_theme: str = "monokai",
    cache: LiveCache | None = None,
) -> Lines:
    """An answer's Markdown as lines for a `width`-column terminal (`cache`: a live tail's)."""
    return renderable_lines(console, AnswerMarkdown(text, code_theme, cache), width)

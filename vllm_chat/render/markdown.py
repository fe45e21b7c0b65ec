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

from collections.abc import Iterator
from contextlib import suppress
from functools import lru_cache, partial
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token
from pygments.lexer import Lexer
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound
from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.markdown import CodeBlock, Markdown
from rich.segment import Segment
from rich.style import Style
from rich.syntax import Syntax

from vllm_chat.render.cells import cut_points, widest
from vllm_chat.render.livecache import LiveCache
from vllm_chat.render.tables import AnswerTable

Lines = list[list[Segment]]

_DIM = Style(dim=True)
_CONTINUED = "↪"


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
        if self.fence:
            yield from self._fence_line(self.fence + self.info, width)
        if self.cache is not None:  # live: each line highlighted alone, once
            for row in self.live_rows(console, width, self.cache):
                yield from row
                yield Segment.line()
        else:
            syntax = _syntax(self.lexer_name, self.theme)
            yield from self._lines(console, syntax, self.theme, self._code(), width)
        if self.fence:
            yield from self._fence_line(self.fence, width)

    def live_rows(self, console: Console, width: int, cache: LiveCache) -> Lines:
        """Its code lines' rows as `renderable_lines` makes them, each line's kept in `cache`:
        a growing fence is drawn from them without rich's line splitting at each redraw."""
        syntax = _syntax(self.lexer_name, self.theme)
        rows: Lines = []
        for source in self._code().split("\n"):
            key = ("code rows", self.lexer_name, self.theme, source, width)
            rows += cache.get(key, partial(self._rows, console, syntax, self.theme, source, width))
        return rows

    def _code(self) -> str:
        code = str(self.text)
        return code[:-1] if code.endswith("\n") else code

    @classmethod
    def _rows(cls, console: Console, syntax: Syntax, theme: str, source: str, width: int) -> Lines:
        # `_lines` cuts each row to fit already: split at its line ends, nothing to crop.
        rows: Lines = []
        row: list[Segment] = []
        for segment in cls._lines(console, syntax, theme, source, width):
            if segment.text == "\n":
                rows.append(rstrip_line(row))
                row = []
            else:
                row.append(segment)
        return rows

    @classmethod
    def _lines(
        cls, console: Console, syntax: Syntax, theme: str, code: str, width: int
    ) -> list[Segment]:
        out: list[Segment] = []
        lines = _token_lines(syntax, theme, code)
        if lines is not None:
            for segments in lines:
                plain = "".join(segment.text for segment in segments)
                out.extend(cls._code_line(plain, segments, width))
            return out
        highlighted = syntax.highlight(code)
        if highlighted.plain.endswith("\n"):
            highlighted.right_crop(1)
        for line in highlighted.split("\n", allow_blank=True):
            line.expand_tabs(4)
            out.extend(cls._code_line(line.plain, list(line.render(console, end="")), width))
        return out

    @staticmethod
    def _fence_line(text: str, width: int) -> Iterator[Segment]:
        for piece in fit([[Segment(text, _DIM)]], width):
            yield from piece
            yield Segment.line()

    @staticmethod
    def _code_line(plain: str, segments: list[Segment], width: int) -> Iterator[Segment]:
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


def _token_lines(syntax: Syntax, theme: str, code: str) -> list[list[Segment]] | None:
    """Each line's segments from the lexer's tokens, styled as `Syntax.highlight` and
    `Text.render` style them (the base, the token's theme style, the background), without
    the `Text` between: its spans cost more than the lexing. None: rich's way is needed."""
    lexer = syntax.lexer
    if lexer is None or "\t" in code:
        return None
    # As rich has it: a newline that ends the code ends its last line (no blank after it).
    count = code.count("\n") + (not code.endswith("\n"))
    lines: list[list[Segment]] = [[]]
    plain = False  # the last segment is of unstyled tokens: rich has no span between them
    for token_type, text in lexer.get_tokens(code):
        style, styled = _token_style(theme, token_type)
        for number, part in enumerate(text.split("\n")):
            if number:
                lines.append([])
                plain = False
            if not part:
                continue
            line = lines[-1]
            if plain and not styled:
                line[-1] = Segment(line[-1].text + part, style)
            else:
                line.append(Segment(part, style))
            plain = not styled
    if len(lines) == count + 1 and not lines[-1]:  # the newline the lexer ends the text with
        lines.pop()
    return lines if len(lines) == count else None


@lru_cache(maxsize=1024)
def _token_style(theme: str, token_type: Any) -> tuple[Style, bool]:
    """A token's style in a line of code, and whether the theme styles it at all."""
    themed = Syntax.get_theme(theme)
    own = themed.get_style_for_token(token_type)
    background = Style(bgcolor="default")  # `_syntax`'s background colour
    return themed.get_background_style() + background + own + background, bool(own)


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

"""What a redraw writes (issue 17): only the lines that changed, never more than the region.

Judged on the bytes the renderer writes to a StringIO console and on an emulated
screen (pyte, with `tests.emulator`'s line deletion), with a fake clock: one redraw
per line of a block much taller than the live region.
"""

from __future__ import annotations

import io
import re

import pyte
import pytest
from rich.console import Console

from tests.emulator import ScrollbackScreen
from tests.render.fidelity_corpus import DOCUMENTS
from vllm_chat.render.livecache import LiveCache
from vllm_chat.render.markdown import line_text, markdown_lines
from vllm_chat.render.scroll import open_fence_lines
from vllm_chat.render.stream import BlockSplitter, MarkdownRenderer, render_once
from vllm_chat.render.text import LineEnds

HEIGHT = 24
WIDTH = 80
_ESCAPE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|[78])")


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Recorder(io.StringIO):
    """A console file that keeps what each flush wrote: one redraw each."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []
        self._pending: list[str] = []

    def write(self, text: str) -> int:
        self._pending.append(text)
        return super().write(text)

    def flush(self) -> None:
        if self._pending:
            self.writes.append("".join(self._pending))
            self._pending = []


def make_console(file: io.StringIO) -> Console:
    return Console(file=file, width=WIDTH, height=HEIGHT, force_terminal=True, color_system="256")


def code_block(count: int) -> list[str]:
    return ["```python\n"] + [f"value_{i:03d} = compute({i}, 'M{i:03d}X')\n" for i in range(count)]


def table(count: int) -> list[str]:
    head = ["| Name | Value | Note |\n", "|------|------:|------|\n"]
    return head + [f"| `name_{i:03d}` | {1000 + i} | note M{i:03d}X here |\n" for i in range(count)]


def items(count: int) -> list[str]:
    return [f"- item M{i:03d}X of the list\n" for i in range(count)]


BLOCKS = {"code": code_block, "table": table, "list": items}


def stream_lines(lines: list[str]) -> tuple[Recorder, MarkdownRenderer]:
    """Stream `lines`, one redraw after each (the clock moves a second per line)."""
    file = Recorder()
    clock = FakeClock()
    renderer = MarkdownRenderer(make_console(file), clock=clock)
    renderer.feed("Intro.\n\n")
    for line in lines:
        clock.now += 1.0
        renderer.feed(line)
    return file, renderer


@pytest.mark.parametrize("kind", list(BLOCKS))
def test_a_block_taller_than_the_region_costs_its_new_lines_per_redraw(kind: str) -> None:
    """Once the region is full, a redraw moves its rows up and writes the new line: it
    never rewrites the rows that only moved (what it did before: the whole region)."""
    lines = BLOCKS[kind](300)
    file, renderer = stream_lines(lines)
    assert renderer.redraws >= 300
    steady = file.writes[-200:]  # the region is full long before
    texts = [len(_ESCAPE.sub("", write).replace("\n", "")) for write in steady]
    # One new row (and the row before it, if it changed), not the region's 11 rows.
    assert max(texts) <= 2 * 60, f"a redraw wrote {max(texts)} characters of text"
    renderer.finish()


@pytest.mark.parametrize(("kind", "limit"), [("code", 2.0), ("table", 3.0), ("list", 3.0)])
def test_a_long_block_streamed_costs_its_one_shot_bytes_and_its_redraws(
    kind: str, limit: float
) -> None:
    """Drawn one line per redraw (the worst case), a 300-line block costs its one-shot
    bytes plus about one row per redraw. A code fence's rows that leave the region are
    printed for good, never again: 2x in all. A table's or a list's rows may still change
    (column widths, numbering) until the block ends, which prints it whole: 3x."""
    text_lines = BLOCKS[kind](300)
    file, renderer = stream_lines(text_lines)
    renderer.finish()
    once = io.StringIO()
    render_once("Intro.\n\n" + "".join(text_lines), make_console(once))
    assert len(file.getvalue()) <= limit * len(once.getvalue())
    lines = play_all(file.getvalue())
    markers = [marker for line in lines for marker in re.findall(r"M\d{3}X", line)]
    assert markers == [f"M{index:03d}X" for index in range(300)]


def play_all(output: str) -> list[str]:
    screen = ScrollbackScreen(WIDTH, HEIGHT, history=10_000)
    pyte.ByteStream(screen).feed(output.replace("\n", "\r\n").encode())
    history = [
        "".join(line[column].data for column in range(WIDTH)).rstrip()
        for line in screen.history.top
    ]
    return history + [line.rstrip() for line in screen.display]


@pytest.mark.parametrize("kind", list(BLOCKS))
def test_the_live_region_is_never_taller_than_half_the_screen(kind: str) -> None:
    """Between redraws the cursor rests on the region's first row; below it, no more
    than half a screen of rows is ever drawn, and the newest line is always in it."""
    file = Recorder()
    clock = FakeClock()
    renderer = MarkdownRenderer(make_console(file), clock=clock)
    screen = pyte.Screen(WIDTH, HEIGHT)
    feeder = pyte.ByteStream(screen)
    renderer.feed("Intro.\n\n")
    for line in BLOCKS[kind](40):  # over three times the region
        clock.now += 1.0
        renderer.feed(line)
        for write in file.writes:
            feeder.feed(write.replace("\n", "\r\n").encode())
        file.writes.clear()
        drawn = [row for row in range(HEIGHT) if screen.display[row].strip()]
        assert drawn[-1] - screen.cursor.y + 1 <= (HEIGHT - 1) // 2
        marker = re.search(r"M\d{3}X", line)
        if marker:
            assert marker.group() in "".join(screen.display[screen.cursor.y :])
    renderer.finish()


def test_an_unchanged_region_writes_nothing_but_its_cursor() -> None:
    file, renderer = stream_lines(code_block(40))
    file.writes.clear()
    renderer._redraw(1e9)  # a redraw with nothing new, as a timer's after a pause
    assert "".join(file.writes) == ""
    renderer.finish()


TABLES = [(doc_id, text) for doc_id, text in DOCUMENTS if "|" in text]


@pytest.mark.parametrize(("doc_id", "text"), TABLES, ids=[doc_id for doc_id, _ in TABLES])
@pytest.mark.parametrize("width", [40, 80, 120])
def test_the_live_rendering_is_the_final_one(doc_id: str, text: str, width: int) -> None:
    """The live tail renders code lines one by one and table rows alone, from a cache:
    the same text (and for tables the same styles) as rendering the block whole."""
    console = make_console(io.StringIO())
    cache = LiveCache()
    whole = markdown_lines(console, text, width)
    live = markdown_lines(console, text, width, cache=cache)
    again = markdown_lines(console, text, width, cache=cache)
    assert [line_text(line) for line in live] == [line_text(line) for line in whole]
    assert again == live
    if "```" not in text and "~~~" not in text and "    " not in text:
        assert live == whole


def test_the_emulator_blanks_a_row_whose_replacement_was_blank() -> None:
    """`tests.emulator`: CSI M moves a blank row up as a blank row, as terminals do."""
    screen = pyte.Screen(10, 4)
    pyte.ByteStream(screen).feed(b"one\r\n\r\nthree\x1b[H\x1b[M")
    assert [line.rstrip() for line in screen.display] == ["", "three", "", ""]


FENCED = [(doc_id, text) for doc_id, text in DOCUMENTS if "```" in text or "~~~" in text]


@pytest.mark.parametrize(("doc_id", "text"), FENCED, ids=[doc_id for doc_id, _ in FENCED])
def test_an_open_fence_is_drawn_without_parsing_as_parsed(doc_id: str, text: str) -> None:
    """The live view of a top-level open fence skips the Markdown parser: at every point
    of the stream it draws what `markdown_lines` would."""
    console = make_console(io.StringIO())
    splitter = BlockSplitter()
    text = LineEnds().whole(text)
    compared = 0
    for start in range(0, len(text), 5):
        splitter.append(text[start : start + 5])
        tail = splitter.tail
        if splitter.in_fence and not splitter.fence_start and tail[:1] in "`~":
            for width in (40, 80):
                parsed = markdown_lines(console, tail, width, "monokai", LiveCache())
                assert open_fence_lines(console, tail, width, "monokai", LiveCache()) == parsed
            compared += 1
    assert compared or not text.lstrip().startswith(("```", "~~~"))


def test_a_long_fence_cut_short_by_a_tool_call_shows_every_line_and_the_call() -> None:
    """A fence printed as it scrolls, then (still open) a tool call below it, then the end."""
    file, renderer = stream_lines(code_block(80))
    call = {"id": "call_1", "function": {"name": "lookup", "arguments": '{"q": "M999X"}'}}
    renderer.feed_calls([call])
    renderer._redraw(1e9)
    renderer.finish()
    lines = play_all(file.getvalue())
    markers = [marker for line in lines for marker in re.findall(r"M\d{3}X", line)]
    assert markers == [f"M{index:03d}X" for index in range(80)] + ["M999X"]
    assert sum("lookup" in line for line in lines) == 1


def test_a_long_fence_across_a_resize_shows_every_line_once() -> None:
    """The rows printed as the fence scrolled are counted again at the new width, so the
    finished fence goes on after them, neither repeating nor dropping a line."""
    lines = ["```python\n"]
    lines += [
        f"value_{i:03d} = compute({i}, 'M{i:03d}X', 'one more arg')  # note\n" for i in range(120)
    ]
    file = Recorder()
    clock = FakeClock()
    console = make_console(file)
    renderer = MarkdownRenderer(console, clock=clock)
    renderer.feed("Intro.\n\n")
    for index, line in enumerate(lines):
        if index == 60:
            console.width = 60  # narrower: every code line now wraps
        clock.now += 1.0
        renderer.feed(line)
    console.width = 50  # and again before it ends, with nothing printed since
    clock.now += 1.0
    renderer.feed("```\n\nAfter.\n")
    renderer.finish()
    shown = play_all(file.getvalue())
    markers = [marker for line in shown for marker in re.findall(r"M\d{3}X", line)]
    assert markers == [f"M{index:03d}X" for index in range(120)]
    assert sum("After." in line for line in shown) == 1


class CountingCache(LiveCache):
    """A live cache that counts what it had to draw."""

    def __init__(self) -> None:
        super().__init__()
        self.drawn = 0

    def get(self, key, make):  # type: ignore[no-untyped-def]
        def counted():  # type: ignore[no-untyped-def]
            self.drawn += 1
            return make()

        return super().get(key, counted)


def test_a_growing_table_draws_only_its_open_row_again() -> None:
    """Each redraw of a streaming table draws its growing last row (and the header when a
    column widened), never again the rows above it, even when its last column grows."""
    console = make_console(io.StringIO())
    cache = CountingCache()
    text = "| id | note |\n| --- | --- |\n"
    drawn = []
    for number in range(1, 13):
        row = f"| r{number:02d} | {'word ' * number}end |\n"
        for cut in (len(row) // 2, len(row) - 3):  # twice while it streams in
            markdown_lines(console, text + row[:cut], 80, cache=cache)
            drawn.append(cache.drawn)
            cache.drawn = 0
        text += row
    assert max(drawn[2:]) <= 2, drawn  # the open row, and the header if the widths changed
    live = markdown_lines(console, text, 80, cache=cache)  # complete: drawn from the cache
    assert [line_text(line) for line in live] == [
        line_text(line) for line in markdown_lines(console, text, 80)
    ]

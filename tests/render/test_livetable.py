"""`live_table_lines`: a streaming table drawn from its rows parsed one by one (issue 17)."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from tests.render.fidelity_corpus import DOCUMENTS
from vllm_chat.render.blocks import BlockSplitter
from vllm_chat.render.livecache import LiveCache
from vllm_chat.render.livetable import live_table_lines
from vllm_chat.render.markdown import markdown_lines
from vllm_chat.render.text import LineEnds

TABLES = [(doc_id, text) for doc_id, text in DOCUMENTS if "|" in text]


def console() -> Console:
    return Console(file=io.StringIO(), width=80, height=40, force_terminal=True)


@pytest.mark.parametrize(("doc_id", "text"), TABLES, ids=[doc_id for doc_id, _ in TABLES])
def test_a_table_drawn_row_by_row_is_drawn_as_parsed_whole(doc_id: str, text: str) -> None:
    """At every point of the stream where the tail is a table, the same lines (text and
    styles) as parsing the whole tail; one cache through the stream, as the renderer has."""
    screen = console()
    splitter = BlockSplitter()
    text = LineEnds().whole(text)
    cache = LiveCache()
    step = max(7, len(text) // 30)  # 30 points of the stream at most: the suite's time
    for start in range(0, len(text), step):
        if splitter.append(text[start : start + step]):
            cache.clear()  # as the renderer does when a block is finished
        tail = splitter.tail
        for width in (40, 80):
            live = live_table_lines(screen, tail, width, "monokai", cache)
            if live is not None:
                assert live == markdown_lines(screen, tail, width, "monokai", LiveCache())


def test_the_corpus_streams_tables_through_the_row_by_row_path() -> None:
    used = 0
    for _, text in TABLES:
        splitter = BlockSplitter()
        step = max(7, len(text) // 10)
        for start in range(0, len(text), step):
            splitter.append(text[start : start + step])
            lines = live_table_lines(console(), splitter.tail, 80, "monokai", LiveCache())
            used += lines is not None
    assert used > 10


def test_each_row_is_parsed_once_while_the_table_grows() -> None:
    parsed: list[str] = []

    class Counting(LiveCache):
        def put(self, key, value):  # type: ignore[no-untyped-def]
            if key[0] == "table row cells":
                parsed.append(key[-1])
            super().put(key, value)

    cache, screen = Counting(), console()
    table = "| id | note |\n| --- | ---: |\n"
    for number in range(1, 21):
        table += f"| r{number:02d} | **{number}** `x` |\n"
        assert live_table_lines(screen, table + "| r", 80, "monokai", cache) is not None
    assert len(parsed) == len(set(parsed)) == 21  # each row once, and the open one ("| r")


@pytest.mark.parametrize(
    "tail",
    [
        "| a | b |\n| - | - |\n| 1 | 2 |\n- a list after it\n",  # another block: parsed whole
        "| a | b |\n| - | - |\n> a quote after it",
        "a paragraph | with a pipe\nand more\n",
        "| a | b |\n| - |",  # the delimiter row still coming
    ],
)
def test_what_is_not_one_table_of_rows_is_left_to_the_whole_parse(tail: str) -> None:
    assert live_table_lines(console(), tail, 80, "monokai", LiveCache()) is None

"""Markdown tables: laid out as rich's borderless table would, by `render/tables.py`."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from vllm_chat.render.livecache import LiveCache
from vllm_chat.render.markdown import line_text, markdown_lines


def shown(text: str, width: int = 40, live: bool = False) -> list[str]:
    console = Console(file=io.StringIO(), width=width, force_terminal=True)
    cache = LiveCache() if live else None
    return [line_text(line) for line in markdown_lines(console, text, width, cache=cache)]


@pytest.mark.parametrize("live", [False, True])
def test_columns_are_aligned_as_the_delimiter_row_says(live: bool) -> None:
    text = "| name | n | mid |\n|:--|--:|:-:|\n| alpha | 1 | x |\n| b | 200 | yy |\n"
    assert shown(text, live=live) == [
        "name     n  mid",
        "───────────────",
        "alpha    1   x",
        "b      200  yy",
    ]


def test_a_long_cell_wraps_within_its_column_and_the_rule_spans_the_table() -> None:
    text = (
        "| key | description |\n|---|---|\n"
        "| `a` | a long description that has to wrap over more than one line here |\n"
        "| bb | short |\n"
    )
    assert shown(text) == [
        "key  description",
        "─" * 40,
        "a    a long description that has to wrap",
        "     over more than one line here",
        "bb   short",
    ]


def test_a_row_short_of_cells_leaves_them_blank_and_extra_cells_are_dropped() -> None:
    """As markdown-it reads a table: the header row sets the number of columns."""
    assert shown("| a | b |\n|---|---|\n| 1 |\n| 1 | 2 | 3 |\n") == ["a  b", "────", "1", "1  2"]


def test_a_table_too_wide_for_its_words_becomes_records() -> None:
    text = "| first heading | second heading |\n|---|---|\n| unbreakable_word_one | two |\n"
    assert shown(text, width=20) == [
        "first heading:",
        "unbreakable_word_one",
        "second heading: two",
    ]

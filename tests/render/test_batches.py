"""Finished blocks are rendered a bounded batch at a time: the screen is as one render.

At full speed many blocks finish between two redraws; `_take_finished` renders
them in batches of about `FINISHED_BATCH` characters (issue 17: a long answer's
memory). Each batch after the first is spaced from the one before as rich
spaces two blocks of one document.
"""

from __future__ import annotations

import io

import pytest

from tests.render.fidelity import play
from tests.render.fidelity_corpus import DOCUMENTS
from tests.render.test_fidelity import FakeClock, make_console, output_of, reference_lines
from vllm_chat.render import stream
from vllm_chat.render.stream import MarkdownRenderer

KINDS = ("code", "table", "list", "para", "heading", "long", "quote", "mixed")
LONG_ANSWER = "\n\n".join(text for doc_id, text in DOCUMENTS if doc_id.split("-")[0] in KINDS)
WIDTH = 100


def streamed_lines(text: str, every: int) -> list[str]:
    """The screen after streaming `text` in 5-character deltas, a redraw per `every` fed."""
    console = make_console(WIDTH)
    clock = FakeClock()
    renderer = MarkdownRenderer(console, clock=clock)
    fed = 0
    for start in range(0, len(text), 5):
        renderer.feed(text[start : start + 5])
        fed += 5
        if fed % every == 0:
            clock.now += 1.0
    renderer.finish()
    return play(output_of(console), WIDTH, 50)


@pytest.mark.parametrize(
    ("batch", "every"),
    [(1, 5_000), (stream.FINISHED_BATCH, 10**9)],
    ids=["a-block-a-batch-redraw-per-5000", "4096-no-redraw"],
)
def test_many_finished_blocks_at_once_look_like_one_render(
    monkeypatch: pytest.MonkeyPatch, batch: int, every: int
) -> None:
    assert len(LONG_ANSWER) > 4 * stream.FINISHED_BATCH  # several batches at one redraw
    monkeypatch.setattr(stream, "FINISHED_BATCH", batch)
    assert streamed_lines(LONG_ANSWER, every) == reference_lines(LONG_ANSWER, WIDTH)


def test_batches_keep_order_and_skip_blank_text() -> None:
    blocks = ["a\n\n", "b" * 10 + "\n\n", "\n\n", "c\n", "d" * 30 + "\n"]
    assert list(stream._batches(blocks, 12)) == [
        "a\n\n", "b" * 10 + "\n\n", "\n\nc\n", "d" * 30 + "\n"  # a longer block alone
    ]
    assert list(stream._batches(blocks, 1000)) == ["".join(blocks)]
    assert list(stream._batches(["\n", " \n"], 1)) == []
    assert list(stream._batches([], 10)) == []


class _Writes(io.StringIO):
    """A terminal that counts what each write carried."""

    def __init__(self) -> None:
        super().__init__()
        self.sizes: list[int] = []

    def write(self, text: str) -> int:
        self.sizes.append(len(text))
        return super().write(text)


@pytest.mark.parametrize("redraws", [True, False], ids=["one-redraw", "at-finish"])
def test_a_flood_of_finished_blocks_is_written_a_batch_at_a_time(redraws: bool) -> None:
    # A fast server: the whole answer arrives between two redraws. Its rendering is
    # written batch by batch, so no more than a batch's lines wait in memory at once.
    console = make_console(WIDTH)
    file = console.file = _Writes()
    clock = FakeClock()
    renderer = MarkdownRenderer(console, clock=clock)
    renderer.feed(LONG_ANSWER)
    if redraws:
        clock.now += 1.0
        renderer.feed(" ")
    renderer.finish()
    assert len(LONG_ANSWER) > 4 * stream.FINISHED_BATCH
    assert len(file.sizes) > 4
    assert max(file.sizes) < sum(file.sizes) / 3
    assert play(file.getvalue(), WIDTH, 50) == reference_lines(LONG_ANSWER + " ", WIDTH)

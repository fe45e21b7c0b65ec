"""Blocks: CPU per token while one long block streams in, by its kind and its length.

A code fence, a table and a list of 50 to 1,600 lines, and the same size of plain
paragraphs, streamed through `MarkdownRenderer` in 4-character deltas at a fake
1,000 tokens/s (12 redraws a second) into a 120x50 StringIO console; against
`render_once` of the same text. A block's cost per token must not grow with its
length: only its changed end is drawn, and what scrolled above the region is final.
"""

from __future__ import annotations

import io
import random
import time

from common import Table, Target, median
from corpus import _paragraph, deltas
from rich.console import Console

from vllm_chat.render.stream import MarkdownRenderer, render_once

RATE = 1_000.0
LENGTHS = (50, 400, 1_600)


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _console() -> Console:
    return Console(
        file=io.StringIO(), force_terminal=True, width=120, height=50, color_system="256"
    )


def block(kind: str, lines: int) -> str:
    if kind == "fence":
        body = "".join(f"value_{i:04d} = compute({i}, 'item {i}')  # note\n" for i in range(lines))
        return f"```python\n{body}```\n"
    if kind == "table":
        rows = "".join(
            f"| `name_{i:04d}` | {1000 + i} | a note about row {i} |\n" for i in range(lines)
        )
        return "| Name | Value | Note |\n|---|---:|---|\n" + rows
    if kind == "list":
        return "".join(f"- item {i} of the list, with a few words\n" for i in range(lines))
    rng = random.Random(lines)
    return "\n\n".join(_paragraph(rng) for _ in range(max(1, lines // 6))) + "\n"


def streamed(text: str) -> float:
    """CPU microseconds per token to stream `text`."""
    clock = _Clock()
    renderer = MarkdownRenderer(_console(), clock=clock)
    pieces = deltas(text)
    start = time.process_time()
    for piece in pieces:
        clock.now += 1 / RATE
        renderer.feed(piece)
    renderer.finish()
    return (time.process_time() - start) / len(pieces) * 1e6


def once(text: str) -> float:
    start = time.process_time()
    render_once(text, _console())
    return (time.process_time() - start) / len(deltas(text)) * 1e6


def run(quick: bool = False) -> list[Table]:
    runs = 1 if quick else 3
    lengths = LENGTHS[:2] if quick else LENGTHS
    streamed(block("fence", 30) + block("table", 10))  # warm-up: imports, the lexer
    table = Table(
        f"blocks: CPU microseconds per token while one block streams in, fake {RATE:,.0f}"
        f" tokens/s, 120x50, median of {runs}",
        ["block", *(f"{n:,} lines" for n in lengths), "one render", "longest / shortest"],
    )
    growth: dict[str, float] = {}
    for kind in ("paragraphs", "list", "table", "fence"):
        costs = [median([streamed(block(kind, n)) for _ in range(runs)]) for n in lengths]
        growth[kind] = costs[-1] / costs[0]
        table.add(
            kind,
            *(f"{cost:.1f}" for cost in costs),
            f"{once(block(kind, lengths[-1])):.1f}",
            f"{growth[kind]:.2f}",
        )
    worst = max(growth, key=growth.__getitem__)
    table.targets = [
        Target(
            f"per-token cost, longest / shortest block (worst: {worst})",
            "<= 1.3",
            f"{growth[worst]:.2f}",
            growth[worst] <= 1.3,
        )
    ]
    table.notes = [
        "one render: render_once of the longest block, per token; the difference is the",
        "live view (a table's rows and a fence's lines drawn as they come) and the redraws.",
    ]
    return [table]

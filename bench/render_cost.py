"""Render cost: CPU time to stream a long Markdown answer into a terminal console.

The answer arrives as 4-character deltas at a simulated 200 tokens/s: a fake
clock advances 1/200 s before each delta, so the throttled redraws happen as
they would in real time, without waiting. Three ways to show it:

(a) ours: `MarkdownRenderer`, which prints finished blocks once and redraws
    only the unfinished tail, at most 12 times a (fake) second;
(b) naive: a `rich.live.Live` redrawing `Markdown(whole text so far)` at the
    same cadence, what most streaming Markdown clients do;
(c) floor: one `console.print(Markdown(text))` of the whole answer.
"""

from __future__ import annotations

import gc
import io
import time
from collections.abc import Callable

from common import Table, Target, median
from corpus import deltas as split
from corpus import markdown_answer
from rich.console import Console
from rich.live import Live
from rich.markdown import Markdown

from vllm_chat.render.stream import MarkdownRenderer

TOKENS_PER_SECOND = 200.0
REFRESH_PER_SECOND = 12.0
SIZES = (2_000, 8_000, 32_000)
NAIVE_SIZES = (2_000, 8_000)  # at 32k the naive redraws take minutes
QUICK_NAIVE_SIZES = (2_000,)


def make_console() -> Console:
    return Console(
        file=io.StringIO(),
        force_terminal=True,
        width=100,
        height=40,
        color_system="truecolor",
    )


class FakeClock:
    """A monotonic clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _cpu(work: Callable[[], int]) -> tuple[float, int]:
    """CPU seconds of `work()` and what it returned (the number of redraws)."""
    gc.collect()
    start = time.process_time()
    count = work()
    return time.process_time() - start, count


def ours(pieces: list[str]) -> tuple[float, int]:
    """(a) MarkdownRenderer: CPU seconds and redraws."""
    clock = FakeClock()
    step = 1.0 / TOKENS_PER_SECOND
    renderer = MarkdownRenderer(make_console(), clock=clock, refresh_per_second=REFRESH_PER_SECOND)

    def work() -> int:
        for piece in pieces:
            clock.now += step
            renderer.feed(piece)
        renderer.finish()
        return renderer.redraws

    return _cpu(work)


def naive(pieces: list[str]) -> tuple[float, int]:
    """(b) Live + Markdown of the whole text at every redraw: CPU seconds and redraws."""
    console = make_console()
    step = 1.0 / TOKENS_PER_SECOND
    interval = 1.0 / REFRESH_PER_SECOND

    def work() -> int:
        now, last, redraws = 0.0, float("-inf"), 0
        received: list[str] = []
        with Live(console=console, auto_refresh=False) as live:
            for piece in pieces:
                now += step
                received.append(piece)
                if now - last >= interval:
                    last = now
                    live.update(Markdown("".join(received)), refresh=True)
                    redraws += 1
        return redraws

    return _cpu(work)


def floor(text: str) -> float:
    """(c) One print of the whole answer: CPU seconds."""
    console = make_console()

    def work() -> int:
        console.print(Markdown(text))
        return 0

    return _cpu(work)[0]


def run(quick: bool = False) -> list[Table]:
    runs_ours = {2_000: 3, 8_000: 3, 32_000: 1} if quick else {2_000: 5, 8_000: 5, 32_000: 3}
    runs_naive = {2_000: 3} if quick else {2_000: 3, 8_000: 3}
    runs_floor = 3 if quick else 5
    floor(markdown_answer(500))  # warm up: imports, Pygments lexer and style
    ours(split(markdown_answer(500)))

    a: dict[int, float] = {}
    b: dict[int, float] = {}
    c: dict[int, float] = {}
    redraws: dict[int, int] = {}
    for size in SIZES:
        text = markdown_answer(size)
        pieces = split(text)
        results = [ours(pieces) for _ in range(runs_ours[size])]
        a[size] = median([cpu for cpu, _ in results])
        redraws[size] = results[0][1]
        c[size] = median([floor(text) for _ in range(runs_floor)])
        if size in runs_naive:
            naive_results = [naive(pieces) for _ in range(runs_naive[size])]
            b[size] = median([cpu for cpu, _ in naive_results])
            assert naive_results[0][1] == redraws[size], "both must redraw equally often"

    table = Table(
        f"render: CPU seconds to stream an answer at {TOKENS_PER_SECOND:.0f} tokens/s "
        f"(fake clock, {REFRESH_PER_SECOND:.0f} redraws/s), median",
        [
            "tokens", "chars", "(a) ours", "(b) naive Live", "(c) one print",
            "b/a", "a/c", "redraws", "(a-c)/redraw ms",
        ],
    )  # fmt: skip
    per_redraw: dict[int, float] = {}
    for size in SIZES:
        chars = len(markdown_answer(size))
        per_redraw[size] = (a[size] - c[size]) / max(1, redraws[size]) * 1000
        table.add(
            f"{size // 1000}k",
            chars,
            f"{a[size]:.3f}",
            f"{b[size]:.3f}" if size in b else "not run",
            f"{c[size]:.3f}",
            f"{b[size] / a[size]:.1f}x" if size in b else "-",
            f"{a[size] / c[size]:.1f}x",
            redraws[size],
            f"{per_redraw[size]:.2f}",
        )
    growth = a[32_000] / a[8_000]
    worst = max(per_redraw, key=per_redraw.__getitem__)
    table.targets = [
        Target(
            "b/a at 8k (ours vs naive Live)",
            ">= 20x",
            f"{b[8_000] / a[8_000]:.1f}x" if 8_000 in b else "not run",
            b[8_000] / a[8_000] >= 20 if 8_000 in b else None,
        ),
        Target("a(32k)/a(8k) (linear: 4.0)", "<= 4.5", f"{growth:.2f}", growth <= 4.5),
        Target(
            f"(a-c)/redraw, worst size ({worst // 1000}k)",
            "< 2 ms",
            f"{per_redraw[worst]:.2f} ms",
            per_redraw[worst] < 2,
        ),
    ]
    naive_at = ", ".join(f"{s // 1000}k" for s in runs_naive)
    table.notes = [
        f"runs (ours/naive/print): {runs_ours[2_000]}/{runs_naive[2_000]}/{runs_floor}"
        f" ({runs_ours[32_000]} for ours at 32k).",
        f"the naive baseline runs only at {naive_at}: beyond, its quadratic cost takes minutes.",
        "console: 100x40 truecolor into a StringIO. (a-c)/redraw charges all of ours' work",
        "beyond one print (block commits included) to its redraws.",
    ]
    return [table]

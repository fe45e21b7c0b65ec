"""One block that never ends: a paragraph of many lines with no blank line.

A block is printed to the scrollback only when a later one begins, so such an
answer stays in the live tail from start to end. Its cost must still grow
linearly: the live view draws only the screenful that fits, and the splitter
never re-copies the growing block. Timed in a 100x40 pseudo-terminal, from
spawn to exit, for 8k and 32k lines of the stand-in's `long N` answer.
"""

from __future__ import annotations

from common import VLLM_CHAT, StandinProcess, Table, Target, child_env, median, scratch, timed
from e2e import in_pty

SIZES = (8_000, 32_000)


def run(quick: bool = False) -> list[Table]:
    runs = 1 if quick else 3
    walls: dict[int, float] = {}
    with scratch() as tmp, StandinProcess() as server:
        env = child_env(tmp)
        for lines in SIZES:
            argv = [VLLM_CHAT, "--url", server.url, "--model-name", "standin-model"]
            argv += ["-q", f"long {lines}"]
            walls[lines] = median(
                [timed(lambda argv=argv: in_pty(argv, env))[0] for _ in range(runs)]
            )
    small, large = SIZES
    ratio = walls[large] / walls[small]
    table = Table(
        f"long block: a {large:,}-line paragraph in one block, pty 100x40, median of {runs}",
        ["lines", "wall s"],
    )
    for lines in SIZES:
        table.add(f"{lines:,}", f"{walls[lines]:.2f}")
    table.targets.append(
        Target(
            f"{large // 1000}k / {small // 1000}k lines (linear: 4.0)",
            "<= 4.5",
            f"{ratio:.2f}",
            ratio <= 4.5,
        )
    )
    table.notes.append("each line is one delta-sized piece of a single paragraph (no blank line)")
    return [table]

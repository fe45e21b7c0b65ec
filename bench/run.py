"""Run the benchmarks and print one table each.

    .venv/bin/python bench/run.py                 # all of them (a few minutes)
    .venv/bin/python bench/run.py --quick         # fewer runs and sizes (under a minute)
    .venv/bin/python bench/run.py render startup  # only these

Benchmarks: render (render_cost.py), e2e, paced, startup, long (long_block.py), store,
terminal (issue 17's paced answer in 120x50 and 80x24 ptys, against Streamdown), blocks
(CPU per token of one long block, by kind and length).
Exit status 0, or with --strict 1 when a target was missed.
"""

from __future__ import annotations

import argparse
import importlib
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

BENCHMARKS = {
    "render": "render_cost",
    "e2e": "e2e",
    "paced": "paced",
    "startup": "startup",
    "long": "long_block",
    "store": "store",
    "terminal": "terminal",
    "blocks": "blocks",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/run.py", description=__doc__.split("\n")[0])
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help=f"benchmarks to run: {', '.join(BENCHMARKS)}"
    )
    parser.add_argument("--quick", action="store_true", help="fewer runs and sizes (< 60 s)")
    parser.add_argument("--strict", action="store_true", help="exit 1 if a target was missed")
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    names = args.names or list(BENCHMARKS)

    import common  # after the path set-up above

    print(
        f"vllm-chat benchmarks{' (--quick)' if args.quick else ''}: "
        f"Python {platform.python_version()}, {platform.machine()}, "
        f"{common.cpu_count()} CPUs, load average {common.load_average()}; "
        f"program: {common.VLLM_CHAT}",
        flush=True,
    )
    verdicts: list[tuple[str, str]] = []
    started = time.perf_counter()
    for name in names:
        module = importlib.import_module(BENCHMARKS[name])
        began = time.perf_counter()
        tables = module.run(quick=args.quick)
        took = time.perf_counter() - began
        for table in tables:
            print()
            print(table.render())
            verdicts += [(f"{name}: {t.what}", t.verdict) for t in table.targets]
        print(f"  ({name} took {took:.1f} s; load average {common.load_average()})", flush=True)

    missed = [what for what, verdict in verdicts if verdict == "MISS"]
    passed = sum(1 for _, verdict in verdicts if verdict == "PASS")
    print()
    print(
        f"summary: {passed} PASS, {len(missed)} MISS, "
        f"{len(verdicts) - passed - len(missed)} not run; "
        f"{time.perf_counter() - started:.0f} s in all"
    )
    for what in missed:
        print(f"  MISS {what}")
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    raise SystemExit(main())

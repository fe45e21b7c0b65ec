"""Start-up: wall time of short commands, hyperfine-style (warm-up, N runs, median).

Baselines: `python -c pass` (the interpreter alone) and `python -c "import
requests"` (the least a client that speaks HTTP with requests must load: the
floor for `-q` to a pipe). The `-q` runs ask the stand-in server (in its own
process) for a one-token answer; stdout is a pipe and stdin /dev/null.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable

from common import (
    PYTHON,
    VLLM_CHAT,
    VLLM_CHAT_M,
    Sample,
    StandinProcess,
    Table,
    Target,
    child_env,
    interleaved,
    median,
    scratch,
    timed,
)


def _timer(
    argv: list[str], env: dict[str, str], before: Callable[[], None] | None = None
) -> Callable[[], Sample]:
    """A case: run `argv` once, stdout and stderr to pipes; its wall and CPU time."""

    def case() -> Sample:
        if before is not None:
            before()
        return timed(
            lambda: subprocess.run(
                argv, stdin=subprocess.DEVNULL, capture_output=True, env=env, check=True, timeout=60
            )
        )

    return case


def run(quick: bool = False) -> list[Table]:
    runs = 5 if quick else 20
    with scratch() as tmp, StandinProcess() as server:
        env = child_env(tmp)

        def push() -> None:
            server.push(content="ok")

        quick_args = ["--url", server.url, "-q", "hi"]
        commands = [
            ("python -c pass", [PYTHON, "-c", "pass"], None),
            ('python -c "import requests"', [PYTHON, "-c", "import requests"], None),
            ("vllm-chat --help", [VLLM_CHAT, "--help"], None),
            ("vllm-chat --version", [VLLM_CHAT, "--version"], None),
            ("python -m vllm_chat --help", [*VLLM_CHAT_M, "--help"], None),
            ("vllm-chat -q hi > pipe", [VLLM_CHAT, *quick_args], push),
            ("python -m vllm_chat -q hi > pipe", [*VLLM_CHAT_M, *quick_args], push),
        ]
        cases = [(name, _timer(argv, env, before)) for name, argv, before in commands]
        samples = interleaved(cases, runs)

    times = {name: [wall for wall, _ in values] for name, values in samples.items()}
    t = {name: median(values) for name, values in times.items()}
    cpu = {name: median([used for _, used in values]) for name, values in samples.items()}
    bare, requests_floor = t["python -c pass"], t['python -c "import requests"']
    table = Table(
        f"startup: wall milliseconds, median of {runs} (after 1 warm-up), runs interleaved",
        ["command", "median ms", "min ms", "max ms", "vs -c pass", "vs import requests", "CPU ms"],
    )
    for name, values in times.items():
        table.add(
            name,
            f"{t[name] * 1000:.1f}",
            f"{min(values) * 1000:.1f}",
            f"{max(values) * 1000:.1f}",
            f"{t[name] / bare:.2f}x",
            f"{t[name] / requests_floor:.2f}x",
            f"{cpu[name] * 1000:.1f}",
        )
    help_ratio = t["vllm-chat --help"] / bare
    quick_ratio = t["vllm-chat -q hi > pipe"] / requests_floor
    table.targets = [
        Target(
            "vllm-chat --help / python -c pass", "<= 1.5", f"{help_ratio:.2f}", help_ratio <= 1.5
        ),
        Target(
            'vllm-chat -q hi (piped) / python -c "import requests"',
            "<= 1.3",
            f"{quick_ratio:.2f}",
            quick_ratio <= 1.3,
        ),
    ]
    table.notes = [
        "-q hi includes GET /models and the streamed POST to the stand-in on 127.0.0.1;",
        "CPU ms: user + sys of the child (getrusage RUSAGE_CHILDREN).",
    ]
    return [table]

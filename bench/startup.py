"""Start-up: wall time of short commands, hyperfine-style (warm-up, N runs, median).

Baselines: `python -c pass` (the interpreter alone) and `python -c "import
requests"` (the least a client that speaks HTTP with requests must load: the
floor for `-q` to a pipe). The `-q` runs ask the stand-in server (in its own
process) for a one-token answer; stdout is a pipe and stdin /dev/null. The REPL is
timed to its first prompt in a pseudo-terminal, against `python -c "import
prompt_toolkit, requests"` (rich loads only after the prompt is up).
"""

from __future__ import annotations

import os
import pty
import select
import subprocess
import time
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

TOOLKIT = 'python -c "import prompt_toolkit, requests"'
FIRST_PROMPT = "vllm-chat (REPL) to its first prompt"


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


CPR_ASK, CPR_ANSWER = b"\x1b[6n", b"\x1b[1;1R"  # a terminal's cursor position report
PROMPT = b"\x1b[0;1m>"  # the REPL's prompt as prompt_toolkit draws it (bold)


def _first_prompt(argv: list[str], env: dict[str, str]) -> Callable[[], Sample]:
    """A case: start the REPL in a pseudo-terminal that answers cursor position requests
    as a terminal does; the wall time until its prompt is drawn (then Ctrl-D)."""

    def case() -> Sample:
        master, slave = pty.openpty()
        start = time.perf_counter()
        child = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env)
        os.close(slave)
        seen = b""
        try:
            while PROMPT not in seen:
                ready, _, _ = select.select([master], [], [], 30)
                if not ready:
                    raise RuntimeError("no prompt after 30 s")
                data = os.read(master, 65536)
                if CPR_ASK in data:
                    os.write(master, CPR_ANSWER)
                seen += data
            wall = time.perf_counter() - start
            os.write(master, b"\x04")
            child.wait(timeout=30)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
            os.close(master)
        return wall, 0.0  # its CPU is not measured (see the notes)

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
            (TOOLKIT, [PYTHON, "-c", "import prompt_toolkit, requests"], None),
            ("vllm-chat --help", [VLLM_CHAT, "--help"], None),
            ("vllm-chat --version", [VLLM_CHAT, "--version"], None),
            ("python -m vllm_chat --help", [*VLLM_CHAT_M, "--help"], None),
            ("vllm-chat -q hi > pipe", [VLLM_CHAT, *quick_args], push),
            ("python -m vllm_chat -q hi > pipe", [*VLLM_CHAT_M, *quick_args], push),
        ]
        cases = [(name, _timer(argv, env, before)) for name, argv, before in commands]
        repl = [VLLM_CHAT, "--url", server.url, "--no-history", "--private"]
        cases.append((FIRST_PROMPT, _first_prompt(repl, env)))
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
            "-" if name == FIRST_PROMPT else f"{cpu[name] * 1000:.1f}",
        )
    help_ratio = t["vllm-chat --help"] / bare
    prompt_ratio = t[FIRST_PROMPT] / t[TOOLKIT]
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
        Target(
            f"REPL first prompt / {TOOLKIT}", "<= 1.3", f"{prompt_ratio:.2f}", prompt_ratio <= 1.3
        ),
    ]
    table.notes = [
        "-q hi includes GET /models and the streamed POST to the stand-in on 127.0.0.1;",
        "CPU ms: user + sys of the child (getrusage RUSAGE_CHILDREN); not measured for the",
        "REPL, timed from its start to its prompt drawn in a pty (which answers cursor",
        "position requests as a terminal does).",
    ]
    return [table]

"""Shared pieces of the benchmarks: paths, child environments, tables, the stand-in.

Every benchmark returns `Table`s; `run.py` prints them. A table holds the
figures, their ratios against a baseline measured in the same run, and the
targets, each marked PASS or MISS.
"""

from __future__ import annotations

import atexit
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
if str(ROOT) not in sys.path:  # for `tests.standin` and, without an install, `vllm_chat`
    sys.path.insert(0, str(ROOT))

PYTHON = sys.executable
_SCRIPT = Path(PYTHON).parent / "vllm-chat"
VLLM_CHAT = str(_SCRIPT) if _SCRIPT.exists() else (shutil.which("vllm-chat") or "vllm-chat")
"""The console script, what users run."""
VLLM_CHAT_M = [PYTHON, "-m", "vllm_chat"]
"""The same program started with `python -m`, for comparison."""

LOOPBACK = "127.0.0.1"


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def child_env(home: Path) -> dict[str, str]:
    """The environment for programs under test: as a user's shell would have it.

    No user config, OpenAI or vllm-chat settings, a colour terminal type, no
    proxy, and none of this session's PYTHON* variables (PYTHONUNBUFFERED and
    PYTHONDONTWRITEBYTECODE change what is measured). Bytecode is cached, as
    after a pip install, but under a temporary prefix so nothing is written
    beside the sources.
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("OPENAI_", "VLLM_CHAT_", "PYTHON"))
        and key not in ("NO_COLOR", "COLUMNS", "LINES")
    }
    for name in ("data", "config", "cache"):
        path = home / f"xdg-{name}"
        path.mkdir(exist_ok=True)
        env[f"XDG_{name.upper()}_HOME"] = str(path)
    env["TERM"] = "xterm-256color"
    env["NO_PROXY"] = env["no_proxy"] = "*"  # loopback only: never through a proxy
    env["PYTHONPYCACHEPREFIX"] = str(_pycache())
    return env


_PYCACHE: list[Path] = []

_WARM_UP = """\
import io
import vllm_chat.client.api, vllm_chat.chat.session, vllm_chat.cli, vllm_chat.app
import vllm_chat.render.stream, vllm_chat.repl.prompt
from rich.console import Console
from rich.markdown import Markdown
Console(file=io.StringIO(), force_terminal=True).print(Markdown("# a\\n```python\\nx = 1\\n```"))
"""


def _pycache() -> Path:
    """One bytecode cache for the whole run, filled once by a warm-up child."""
    if not _PYCACHE:
        path = Path(tempfile.mkdtemp(prefix="vllm-chat-bench-pycache-"))
        atexit.register(shutil.rmtree, path, ignore_errors=True)
        _PYCACHE.append(path)
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
        env["PYTHONPYCACHEPREFIX"] = str(path)
        for code in ("pass", _WARM_UP):
            subprocess.run([PYTHON, "-c", code], env=env, check=True, stdin=subprocess.DEVNULL)
    return _PYCACHE[0]


@contextmanager
def scratch() -> Iterator[Path]:
    """A temporary directory for one benchmark's files and child home."""
    with tempfile.TemporaryDirectory(prefix="vllm-chat-bench-") as path:
        yield Path(path)


# ---- tables -------------------------------------------------------------------------


@dataclass
class Target:
    """A goal: `measured` against `limit`, already decided (`ok`), or `None` if not run."""

    what: str
    limit: str
    measured: str
    ok: bool | None

    @property
    def verdict(self) -> str:
        return "n/a" if self.ok is None else ("PASS" if self.ok else "MISS")


@dataclass
class Table:
    """One benchmark's result: a title, columns, rows, targets and notes."""

    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, *cells: object) -> None:
        self.rows.append([str(cell) for cell in cells])

    def render(self) -> str:
        lines = [self.title, "=" * len(self.title)]
        lines += _grid(self.columns, self.rows)
        if self.targets:
            lines.append("")
            lines += _grid(
                ["target", "limit", "measured", "verdict"],
                [[t.what, t.limit, t.measured, t.verdict] for t in self.targets],
            )
        lines += [f"  {note}" for note in self.notes]
        return "\n".join(lines)


def _grid(columns: list[str], rows: list[list[str]]) -> list[str]:
    """Aligned columns: the first left-aligned, the others right-aligned."""
    widths = [len(c) for c in columns]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=False)]

    def line(cells: list[str]) -> str:
        out = [cells[0].ljust(widths[0])]
        out += [cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=False)]
        return "  ".join(out).rstrip()

    return [line(columns), "  ".join("-" * w for w in widths)] + [line(row) for row in rows]


# ---- the stand-in server, in a process of its own -----------------------------------

_SERVE = """\
import json, sys
sys.path.insert(0, sys.argv[1])
from tests.standin import Reply, StandinServer
server = StandinServer(host=sys.argv[2]).start()
print(server.url, flush=True)
for line in sys.stdin:
    server.push(Reply(**json.loads(line)))
    print("ok", flush=True)
server.stop()
"""


class StandinProcess:
    """`tests.standin.StandinServer` in a child process, so that its work never competes
    for this process's GIL with the reading of a client's output.

    `push(**reply)` queues one `Reply` (each chat request pops one).
    """

    def __init__(self) -> None:
        self._proc = subprocess.Popen(
            [PYTHON, "-c", _SERVE, str(ROOT), LOOPBACK],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._proc.stdout is not None
        self.url = self._proc.stdout.readline().strip()
        if not self.url.startswith(f"http://{LOOPBACK}:"):
            self.stop()
            raise RuntimeError("the stand-in server did not start")

    def push(self, **reply: object) -> None:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(json.dumps(reply) + "\n")
        self._proc.stdin.flush()
        if self._proc.stdout.readline().strip() != "ok":
            raise RuntimeError("the stand-in server did not take the reply")

    def stop(self) -> None:
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()

    def __enter__(self) -> StandinProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def chat_body(message: str = "x", model: str = "standin-model") -> str:
    """The JSON body vllm-chat sends, for curl."""
    return json.dumps(
        {
            "model": model,
            "messages": [{"role": "user", "content": message}],
            "stream": True,
            "stream_options": {"include_usage": True},
        }
    )


def curl_command(url: str, body: str) -> list[str]:
    """`curl -sN` streaming the chat completion for `body` to /dev/null."""
    return [
        "curl", "-sN", "--noproxy", "*", "-o", os.devnull,
        "-H", "Content-Type: application/json", "-H", "Authorization: Bearer EMPTY",
        "--data-binary", body, f"{url}/chat/completions",
    ]  # fmt: skip


Sample = tuple[float, float]
"""Wall seconds and the CPU seconds (user + sys) of the children reaped meanwhile."""


def children_cpu() -> float:
    """User + sys seconds of every reaped child process so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(work: Callable[[], object]) -> Sample:
    """Run `work` (which starts and reaps a child); its wall and children's CPU time."""
    cpu = children_cpu()
    start = time.perf_counter()
    work()
    wall = time.perf_counter() - start
    return wall, children_cpu() - cpu


def interleaved(
    cases: Sequence[tuple[str, Callable[[], Sample]]], runs: int, warmup: int = 1
) -> dict[str, list[Sample]]:
    """Run every case `runs` times, round-robin so that drift hits all alike."""
    for _ in range(warmup):
        for _, case in cases:
            case()
    samples: dict[str, list[Sample]] = {name: [] for name, _ in cases}
    for _ in range(runs):
        for name, case in cases:
            samples[name].append(case())
    return samples


def load_average() -> str:
    """The 1-minute load average: other work on the machine skews wall times."""
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "?"


def cpu_count() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1

"""Terminal: a 52 KB answer paced at 200, 1,000 and 5,000 tokens/s into a 120x50 and an
80x24 pseudo-terminal, as a new user would see it (issue 17).

The answer (`corpus.sectioned_answer`: sections of paragraphs, lists, 10-20-row
tables and 5-30-line code fences, about 12,700 tokens) comes from `paced.PacedServer`
in vLLM's chunk shapes, one 4-character delta per token at its own deadline.
For each client this measures, in the same run:
- CPU: user + sys of the client process alone (`os.wait4`), start-up included;
  CPU % is that over the client's wall time (spawn to exit);
- bytes: everything read from the pty master (what an SSH link would carry);
- lag: the client's exit after the server's last byte (does it keep up).
Baselines: the floor, `render_once` of the finished answer in a fresh interpreter
in the same pty (its CPU over the stream's duration, its bytes); `curl -sN` of the
same paced stream; and Streamdown (`sd`), fed the same text at the same pace on a
FIFO, from `build/bench-sd` (skipped with a note when it is not installed).
"""

from __future__ import annotations

import fcntl
import os
import struct
import subprocess
import termios
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from common import (
    PYTHON,
    ROOT,
    VLLM_CHAT,
    StandinProcess,
    Table,
    Target,
    chat_body,
    child_env,
    curl_command,
    load_average,
    median,
    scratch,
)
from corpus import deltas, sectioned_answer
from paced import MODEL, PacedServer

TOKENS = 12_700
SIZES = ((50, 120), (24, 80))  # rows, columns
RATES = (200, 1_000, 5_000)
MEMORY_TOKENS = 100_000
STREAMDOWN = ROOT / "build" / "bench-sd" / "bin" / "sd"

_RENDER_ONCE = """\
import sys
from vllm_chat.render.environment import Environment
from vllm_chat.render.stream import console_for, render_once
render_once(open(sys.argv[1], encoding="utf-8").read(), console_for(Environment.detect()))
"""


@dataclass
class Run:
    """One client's run in a pty."""

    cpu: float  # user + sys seconds of the client process
    wall: float  # spawn to exit
    written: int  # bytes read from the pty master
    ended: float  # monotonic time of the client's exit
    rss_kb: int  # its peak resident set

    @property
    def percent(self) -> float:
        return 100 * self.cpu / self.wall


def in_pty(
    argv: list[str],
    env: dict[str, str],
    size: tuple[int, int],
    feed: Callable[[], None] | None = None,
) -> Run:
    """Run `argv` on a new pty of `size`, read all it writes; `feed` runs in a thread."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[0], size[1], 0, 0))
    chunks: list[int] = []

    def read() -> None:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: every end of the slave is closed
                return
            if not data:
                return
            chunks.append(len(data))

    start = time.monotonic()
    proc = subprocess.Popen(
        argv, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True
    )
    os.close(slave)
    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    feeder = threading.Thread(target=feed, daemon=True) if feed is not None else None
    if feeder is not None:
        feeder.start()
    _, status, usage = os.wait4(proc.pid, 0)
    ended = time.monotonic()
    proc.returncode = os.waitstatus_to_exitcode(status)
    reader.join(timeout=10)
    os.close(master)
    if feeder is not None:
        feeder.join(timeout=10)
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[0]} exited with {proc.returncode}")
    return Run(
        cpu=usage.ru_utime + usage.ru_stime,
        wall=ended - start,
        written=sum(chunks),
        ended=ended,
        rss_kb=usage.ru_maxrss,
    )


def paced_feed(path: Path, pieces: list[str], rate: float, times: dict[str, float]) -> Callable:
    """Write `pieces` into the FIFO at `path` at `rate` a second (Streamdown's input)."""

    def feed() -> None:
        with open(path, "w", encoding="utf-8") as fifo:
            start = times["started"] = time.monotonic()
            for index, piece in enumerate(pieces):
                wait = start + index / rate - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                fifo.write(piece)
                fifo.flush()
            times["last_write"] = time.monotonic()

    return feed


@dataclass
class Result:
    runs: list[Run]
    lag: list[float]  # exit - the stream's last byte, per run

    @property
    def cpu(self) -> float:
        return median([run.cpu for run in self.runs])

    @property
    def percent(self) -> float:
        return median([run.percent for run in self.runs])

    @property
    def written(self) -> float:
        return median([run.written for run in self.runs])


def run(quick: bool = False) -> list[Table]:
    text = sectioned_answer(TOKENS)
    pieces = deltas(text)
    rates = RATES[1:] if quick else RATES
    repeats = {200: 1, 1_000: 1 if quick else 3, 5_000: 1 if quick else 3}
    has_sd = STREAMDOWN.exists()
    server = PacedServer(pieces, 1_000).start()
    results: dict[tuple[str, tuple[int, int], int], Result] = {}
    floor: dict[tuple[int, int], Result] = {}
    try:
        with scratch() as tmp:
            env = child_env(tmp)
            answer = tmp / "answer.md"
            answer.write_text(text, encoding="utf-8")
            fifo = tmp / "answer.fifo"
            os.mkfifo(fifo)
            client = [VLLM_CHAT, "--url", server.url, "--model-name", MODEL, "-q", "x"]
            curl = curl_command(server.url, chat_body("x", MODEL))
            server.pieces = pieces[:500]  # warm-up: bytecode cached, the page cache full
            in_pty(client, env, SIZES[0])
            server.pieces = pieces
            for size in SIZES:
                once = [in_pty([PYTHON, "-c", _RENDER_ONCE, str(answer)], env, size)]
                once += [in_pty([PYTHON, "-c", _RENDER_ONCE, str(answer)], env, size)]
                floor[size] = Result(once, [])
                for rate in rates:
                    server.rate = rate
                    for _ in range(repeats[rate]):
                        for name in ("vllm-chat", "curl", "streamdown"):
                            if name == "curl" and size != SIZES[0]:
                                continue  # no terminal: once is enough
                            if name == "streamdown" and (not has_sd or rate == 200):
                                continue
                            key = (name, size, rate)
                            result = results.setdefault(key, Result([], []))
                            if name == "streamdown":
                                times: dict[str, float] = {}
                                feed = paced_feed(fifo, pieces, rate, times)
                                done = in_pty([str(STREAMDOWN), str(fifo)], env, size, feed)
                                last = times["last_write"]
                            else:
                                argv = client if name == "vllm-chat" else curl
                                done = in_pty(argv, env, size)
                                assert server.last_write is not None
                                last = server.last_write
                            result.runs.append(done)
                            result.lag.append(done.ended - last)
    finally:
        server.stop()
    return [_table(text, results, floor, rates, has_sd, quick), memory()]


def memory(tokens: int = MEMORY_TOKENS) -> Table:
    """Peak RSS of `vllm-chat -q` in a 120x50 pty for a long answer at full speed,
    above the same client's for a short one of the same blocks (the same modules loaded)."""
    text, short = sectioned_answer(tokens), sectioned_answer(1_000)
    with scratch() as tmp, StandinProcess() as server:
        env = child_env(tmp)
        client = [VLLM_CHAT, "--url", server.url, "--model-name", "standin-model", "-q", "x"]
        peaks: dict[str, list[int]] = {"short": [], "long": [], "short-p": [], "long-p": []}
        for _ in range(2):
            for name, content in (("short", short), ("long", text)):
                for suffix, argv in (("", client), ("-p", [*client, "--private"])):
                    server.push(content=content, chunk_chars=4, delay=0)
                    peaks[name + suffix].append(in_pty(argv, env, SIZES[0]).rss_kb)
    base, long = min(peaks["short"]), min(peaks["long"])
    above = (long - base) * 1024
    private = (min(peaks["long-p"]) - min(peaks["short-p"])) * 1024
    table = Table(
        f"memory: peak RSS of vllm-chat -q, a {len(text) / 1000:.0f} KB answer ({tokens:,}"
        " tokens) at full speed vs a 1,000-token one, pty 120x50 (least of 2)",
        ["answer", "peak RSS MB", "above 1,000 tokens MB", "vs the answer's text"],
    )
    table.add("1,000 tokens", f"{base / 1024:.1f}", "-", "-")
    table.add(f"{tokens:,} tokens", f"{long / 1024:.1f}", f"{above / 2**20:.1f}",
              f"{above / len(text):.2f}x")  # fmt: skip
    ratio = above / len(text)
    table.targets = [
        Target("RSS above the short answer / text size", "< 2x", f"{ratio:.2f}x", ratio < 2)
    ]
    table.notes = [
        f"with --private (no chat store: its SQLite insert and FTS5 index of the answer at the"
        f" end): {private / 2**20:.1f} MB above, {private / len(text):.2f}x the text.",
    ]
    return table


def _table(
    text: str,
    results: dict[tuple[str, tuple[int, int], int], Result],
    floor: dict[tuple[int, int], Result],
    rates: tuple[int, ...],
    has_sd: bool,
    quick: bool,
) -> Table:
    table = Table(
        f"terminal: a {len(text) / 1000:.1f} KB answer ({TOKENS:,} tokens) paced into a pty, "
        f"median of 3 at 1,000 and 5,000 tokens/s{' (--quick: 1)' if quick else ''}",
        [
            "client", "size", "tokens/s", "CPU s", "CPU %", "vs floor", "KB written",
            "vs floor", "exit lag ms",
        ],
    )  # fmt: skip
    targets: list[Target] = []
    for size in SIZES:
        rows, columns = size
        label = f"{columns}x{rows}"
        once = floor[size]
        stream_s = TOKENS / 1_000
        floor_percent = 100 * once.cpu / stream_s
        table.add(
            "floor: render once", label, "-", f"{once.cpu:.3f}",
            f"{floor_percent:.1f}", "1.0x", f"{once.written / 1000:.0f}", "1.00x", "-",
        )  # fmt: skip
        for rate in rates:
            for name in ("vllm-chat", "streamdown", "curl"):
                result = results.get((name, size, rate))
                if result is None:
                    continue
                percent = result.percent
                stream_s = TOKENS / rate
                ratio = result.written / once.written
                table.add(
                    name, label, f"{rate:,}", f"{result.cpu:.3f}", f"{percent:.1f}",
                    f"{result.cpu / once.cpu:.1f}x", f"{result.written / 1000:.0f}",
                    f"{ratio:.2f}x", f"{median(result.lag) * 1000:.0f}",
                )  # fmt: skip
                if name != "vllm-chat":
                    continue
                if rate == 1_000:
                    targets.append(
                        Target(f"CPU at 1,000/s, {label}", "< 5 %", f"{percent:.1f} %", percent < 5)
                    )
                    targets.append(
                        Target(f"bytes at 1,000/s, {label}", "<= 2x", f"{ratio:.2f}x", ratio <= 2)
                    )
                    sd = results.get(("streamdown", size, rate))
                    if sd is not None:
                        fewer = result.written < sd.written
                        targets.append(
                            Target(
                                f"bytes vs Streamdown, {label}",
                                "fewer",
                                f"{result.written / sd.written:.2f}x",
                                fewer,
                            )
                        )
                        lighter = result.cpu < sd.cpu
                        targets.append(
                            Target(
                                f"CPU vs Streamdown, {label}",
                                "lighter",
                                f"{result.cpu / sd.cpu:.2f}x",
                                lighter,
                            )
                        )
                if rate == 5_000:
                    lag = median(result.lag)
                    targets.append(
                        Target(f"5,000/s exit lag, {label}", "< 0.3 s", f"{lag:.3f} s", lag < 0.3)
                    )
                    targets.append(
                        Target(
                            f"CPU at 5,000/s, {label}", "< 20 %", f"{percent:.1f} %", percent < 20
                        )
                    )
    table.targets = targets
    table.notes = [
        "CPU: user+sys of the client alone (os.wait4), start-up included; CPU % = CPU / wall"
        " (spawn to exit);",
        "floor: render_once of the finished answer in a fresh interpreter in the same pty"
        " (its CPU % over a 1,000 tokens/s stream);",
        "KB written: bytes read from the pty master (the line discipline adds a CR per line);",
        "exit lag: the client's exit after the stream's last byte (for sd: the last write into"
        " its FIFO).",
        f"load average at the end: {load_average()}.",
    ]
    if not has_sd:
        table.notes.append(
            f"Streamdown not run: {STREAMDOWN.relative_to(ROOT)} is missing (python3 -m venv"
            " build/bench-sd && build/bench-sd/bin/pip install streamdown)."
        )
    return table

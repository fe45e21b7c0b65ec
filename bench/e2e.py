"""End to end: wall time for a whole 32k-token answer streamed at full speed.

The stand-in server (in a process of its own) sends the answer in 4-character
deltas with no pause, chunked like vLLM. Timed, each from spawn to exit:

(i)   `vllm-chat --url URL -q x` in a 100x40 pseudo-terminal (Markdown, live);
(ii)  the same with stdout to a pipe (plain text);
(iii) `curl -sN` of the same request to /dev/null: the server's pace, the floor;
(iv)  a Python that imports rich and prints `Markdown(answer)` once to a
      100-column terminal console: the render work no client can avoid;
and `python -c pass`, the interpreter's start-up.
"""

from __future__ import annotations

import os
import subprocess

import pexpect
from common import (
    PYTHON,
    VLLM_CHAT,
    Sample,
    StandinProcess,
    Table,
    Target,
    chat_body,
    child_env,
    curl_command,
    interleaved,
    median,
    scratch,
    timed,
)
from corpus import markdown_answer

TOKENS = 32_000
CHUNK_CHARS = 4
DIMENSIONS = (40, 100)  # rows, columns

_RENDER_ONCE = """\
import os, sys
from rich.console import Console
from rich.markdown import Markdown
text = open(sys.argv[1], encoding="utf-8").read()
with open(os.devnull, "w") as out:
    Console(file=out, force_terminal=True, width=100, height=40).print(Markdown(text))
"""


def in_pty(argv: list[str], env: dict[str, str], size: tuple[int, int] = DIMENSIONS) -> bytes:
    """Run `argv` in a pseudo-terminal, read everything it writes, wait for its exit."""
    child = pexpect.spawn(
        argv[0], argv[1:], dimensions=size, env=env, maxread=65536, timeout=300, echo=False
    )
    output = child.read()
    child.close()
    if child.exitstatus != 0:
        raise RuntimeError(f"{argv} exited with {child.exitstatus or child.signalstatus}")
    return output


def to_pipe(argv: list[str], env: dict[str, str]) -> bytes:
    """Run `argv` with stdout to a pipe (read to the end) and stdin from /dev/null."""
    done = subprocess.run(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, env=env, check=True, timeout=300
    )
    return done.stdout


def run(quick: bool = False) -> list[Table]:
    runs = 3 if quick else 5
    text = markdown_answer(TOKENS)
    with scratch() as tmp, StandinProcess() as server:
        env = child_env(tmp)
        answer_file = tmp / "answer.md"
        answer_file.write_text(text, encoding="utf-8")
        reply = {"content": text, "chunk_chars": CHUNK_CHARS, "delay": 0}
        client = [VLLM_CHAT, "--url", server.url, "-q", "x"]
        body = chat_body("x")

        written: list[int] = []  # bytes the pty client wrote, per run

        def pty_case() -> Sample:
            server.push(**reply)
            return timed(lambda: written.append(len(in_pty(client, env))))

        def pipe_case() -> Sample:
            server.push(**reply)
            output: list[bytes] = []
            sample = timed(lambda: output.append(to_pipe(client, env)))
            if output[0].decode("utf-8") != text:
                raise RuntimeError("the piped answer differs from the one sent")
            return sample

        def curl_case() -> Sample:
            server.push(**reply)
            return timed(lambda: to_pipe(curl_command(server.url, body), env))

        def render_case() -> Sample:
            return timed(lambda: to_pipe([PYTHON, "-c", _RENDER_ONCE, str(answer_file)], env))

        def python_case() -> Sample:
            return timed(lambda: to_pipe([PYTHON, "-c", "pass"], env))

        names = ["(i) pty", "(ii) pipe", "(iii) curl", "(iv) render", "start-up"]
        cases = [pty_case, pipe_case, curl_case, render_case, python_case]
        samples = interleaved(list(zip(names, cases, strict=True)), runs)

    t = {name: median([wall for wall, _ in values]) for name, values in samples.items()}
    cpu = {name: median([used for _, used in values]) for name, values in samples.items()}
    floor = t["(iii) curl"] + t["start-up"]
    rendered = t["(ii) pipe"] + t["(iv) render"]
    table = Table(
        f"e2e: wall seconds for a {TOKENS // 1000}k-token answer ({len(text):,} chars, "
        f"{len(text) // CHUNK_CHARS:,} deltas) at full speed, median of {runs}",
        ["case", "wall s", "min", "max", "vs (iii)+start-up", "child CPU s"],
    )
    labels = {
        "(i) pty": "(i)   vllm-chat -q, pty 100x40 (Markdown)",
        "(ii) pipe": "(ii)  vllm-chat -q, stdout to a pipe (plain)",
        "(iii) curl": "(iii) curl -sN to /dev/null (floor)",
        "(iv) render": "(iv)  python: import rich, print Markdown once",
        "start-up": "      python -c pass",
    }
    for name, label in labels.items():
        walls = [wall for wall, _ in samples[name]]
        table.add(
            label,
            f"{t[name]:.3f}",
            f"{min(walls):.3f}",
            f"{max(walls):.3f}",
            f"{t[name] / floor:.2f}x",
            f"{cpu[name]:.3f}",
        )
    both_cpu = cpu["(ii) pipe"] + cpu["(iv) render"]
    table.add(
        "      (ii)+(iv)", f"{rendered:.3f}", "", "", f"{rendered / floor:.2f}x", f"{both_cpu:.3f}"
    )
    table.add("      (iii)+start-up", f"{floor:.3f}", "", "", "1.00x", "")
    pty_ratio = t["(i) pty"] / rendered
    pipe_ratio = t["(ii) pipe"] / floor
    strict = t["(i) pty"] / (rendered - t["start-up"])
    table.targets = [
        Target("(i) / ((ii)+(iv))", "<= 1.3", f"{pty_ratio:.2f}", pty_ratio <= 1.3),
        Target("(ii) / ((iii)+start-up)", "<= 1.3", f"{pipe_ratio:.2f}", pipe_ratio <= 1.3),
    ]
    table.notes = [
        f"(i) wrote {median(written):,.0f} bytes to the terminal (median).",
        f"(iv) includes a second interpreter start-up; without it, (i)/((ii)+(iv)-start-up)"
        f" = {strict:.2f}.",
        "vllm-chat also asks GET /models first (no --model-name); curl sends only the POST.",
        f"runs interleaved case by case after one warm-up round; {os.path.basename(VLLM_CHAT)}"
        " is the console script.",
    ]
    return [table]

"""Long sessions and large messages: what a user who leans on vllm-chat for hours sees.

* A 300-turn REPL session with faults mixed in: every answer that should arrive
  arrives, the history file keeps every line, the conversation stays well formed,
  and file descriptors and memory stay flat. The figures are printed (`pytest -s`)
  and attached to the report (`record_property`).
* 2 MB messages: piped to `-q -`, appended to `-q MESSAGE`, pasted into the REPL
  through pipe input and into a real pseudo-terminal. The stand-in answers with the
  length and SHA-256 of what it received, so the answer the user sees proves the
  message arrived intact.
* A 2 MB answer streamed to a pipe comes out byte for byte.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pexpect
import pytest
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from tests.processes import spawn_pty, vllm_chat
from tests.repl.test_repl import CTRL_D, ENTER, new_chat, paste
from tests.standin import Reply, StandinServer
from tests.test_cli import run_cli
from tests.test_e2e import Terminal
from vllm_chat.chat.session import Chat
from vllm_chat.render.plain import Renderer
from vllm_chat.repl.prompt import Repl

MIB = 1024 * 1024
PAGE = os.sysconf("SC_PAGE_SIZE")


# ---- helpers ----------------------------------------------------------------------------


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def big_text(min_bytes: int = 2 * MIB, newline: str = "\n") -> str:
    """At least `min_bytes` of UTF-8 in many short lines (a tab and 2-, 3- and 4-byte
    characters on each, a blank line now and then), like a diff of non-English text."""
    lines = []
    size = 0
    i = 0
    while size < min_bytes:
        i += 1
        line = (
            f"{i:06d} +café naïve façade — 日本語のテキスト Ελληνικά Русский 🎉🚀 "
            f"\tx = {i * 7919 % 100003}; // ümlaut ß €{newline}"
        )
        if i % 97 == 0:
            line = newline  # a blank line now and then
        lines.append(line)
        size += len(line.encode("utf-8"))
    return "".join(lines)


def digest_answer(text: str) -> str:
    """What the digest server answers: short enough for one line of a 100-column screen."""
    return f"got {len(text)} chars, sha256 {sha256(text)[:32]}"


class DigestServer(StandinServer):
    """Answers every message with its length and SHA-256: the user sees what arrived."""

    def default_reply(self, body: dict) -> Reply:
        return Reply(content=digest_answer(body["messages"][-1]["content"]), chunk_chars=16)


def feed_in_thread(write: Callable[[bytes], None], data: bytes, chunk: int) -> threading.Thread:
    """Write `data` in `chunk`-byte pieces from a thread (a pipe holds only 64 KiB)."""

    def run() -> None:
        try:
            for start in range(0, len(data), chunk):
                write(data[start : start + chunk])
        except OSError:
            pass  # the reader went away; the test's assertions say why

    thread = threading.Thread(target=run, daemon=True, name="feeder")
    thread.start()
    return thread


def drive_fed(chat: Chat, keys: str, history_file: Path | None, chunk: int = 64 * 1024) -> int:
    """`drive` from test_repl, but the keys are written while the Repl reads them."""
    with create_pipe_input() as inp:
        feeder = feed_in_thread(inp.send_bytes, keys.encode("utf-8"), chunk)
        repl = Repl(chat, history_file=history_file, input=inp, output=DummyOutput())
        code = repl.run()
        feeder.join(timeout=5)
        return code


def history_entries(path: Path) -> list[str]:
    """The entries of prompt_toolkit's FileHistory file, oldest first."""
    entries: list[list[str]] = []
    for line in path.read_text(encoding="utf-8").split("\n"):
        if line.startswith("#"):
            entries.append([])
        elif line.startswith("+") and entries:
            entries[-1].append(line[1:])
    return ["\n".join(lines) for lines in entries]


def report_figures(
    figures: dict[str, Any], record_property, capsys, request: pytest.FixtureRequest
) -> None:
    """Attach `figures` to the test report, and print them: past capsys under `-s`,
    into the captured output (shown when the test fails) otherwise."""
    for name, value in figures.items():
        record_property(name, value)
    text = "\n".join(f"  {name}: {value}" for name, value in figures.items())
    if request.config.getoption("capture") == "no":
        with capsys.disabled():
            print(f"\n{text}")
    else:
        print(text)


# ---- 1. soak: 300 turns in one session --------------------------------------------------

TURNS = 300
SAMPLE_AT = (50, TURNS)


def fault(n: int) -> str | None:
    """The fault scheduled for turn `n` (turns 50 and 300, where we measure, are clean)."""
    if n % 25 == 12:
        return "500"
    if n % 40 == 21:
        return "cut"
    if n % 30 == 5:
        return "bad-json"
    if n % 20 == 9:
        return "keepalive"
    if n % 35 == 28:
        return "reasoning"
    if n % 45 == 33:
        return "split-bytes"
    if n % 50 == 44:
        return "crlf"
    if n % 60 == 47:
        return "slow"
    return None


LOST = {"500", "cut"}  # faults after which the full answer never arrives


class SoakServer(StandinServer):
    """Answers `msg-N` with "You said: msg-N", through the fault scheduled for turn N.

    The stand-in records every request body, and each holds the whole conversation
    so far: 300 turns make ~4 MB of JSON and ~25 MB of Python objects, all in this
    process. That is the test's memory, not the client's, so this server keeps
    only the last body (`last_request`) and the last message of each (`sent`).
    """

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[str] = []
        self.last_request: dict[str, Any] = {}

    def default_reply(self, body: dict) -> Reply:
        text = body["messages"][-1]["content"]
        with self._lock:
            self.sent.append(text)
            self.last_request = body
            self.requests.clear()
            self.headers.clear()
            self.count_requests.clear()  # the toolbar's counts hold the conversation too
        n = int(text.removeprefix("msg-"))
        answer = f"You said: {text}"
        kind = fault(n)
        if kind == "500":
            return Reply(status=500, error_body={"error": {"message": f"boom at {text}"}})
        if kind == "cut":
            return Reply(content=answer, chunk_chars=4, cut_after=2)  # "You said" arrives
        if kind == "bad-json":
            return Reply(content=answer, bad_json_event=True)
        if kind == "keepalive":
            return Reply(content=answer, keepalive_comments=True)
        if kind == "reasoning":
            return Reply(reasoning=f"Let me think about {text}.", content=answer)
        if kind == "split-bytes":
            return Reply(content=answer, split_bytes=True)
        if kind == "crlf":
            return Reply(content=answer, crlf=True, no_space=True)
        if kind == "slow":  # a pause before the first token, and between deltas
            return Reply(content=answer, first_token_delay=0.2, delay=0.02)
        return Reply(content=answer)


class ProbedRenderer:
    """The real renderer, plus a sample of the process when its turn ends."""

    def __init__(self, inner: Renderer, on_finish: Callable[[], None]) -> None:
        self._inner = inner
        self._on_finish = on_finish

    def __getattr__(self, name: str) -> Any:  # feed, feed_reasoning, ...: the real ones
        return getattr(self._inner, name)

    def finish(self, note: str | None = None) -> None:
        self._inner.finish(note)
        self._on_finish()


def test_soak_300_turns_with_faults(
    tmp_path: Path, capsys, record_property, request: pytest.FixtureRequest
) -> None:
    """One REPL session, 300 turns, faults mixed in; nothing lost, nothing leaks.

    Honest measurement: a single `Repl` over a single `Chat` runs all 300 turns from
    one pipe input (typed ahead, as a fast typist would). Figures are taken *inside*
    the session, when the answer to turn 50 and to turn 300 has been shown: the
    chat's renderer factory is wrapped so that the real renderer's `finish()` is
    followed by a sample (after `gc.collect()`): open fds (`/proc/self/fd`, which
    also counts the in-process stand-in server's sockets), RSS (`/proc/self/statm`)
    and Python's allocated blocks. Turns 1-50 are the warm-up (imports, the
    connection pool, prompt_toolkit's caches). The conversation grows meanwhile,
    but only by ~500 short messages (27 KB of JSON at turn 300, ~16 allocated
    blocks a turn), so growth near the 50 MB RSS bound, or beyond 100k blocks
    (400 a turn: about what keeping one HTTP response a turn costs), is a leak.

    Faults (see `fault()`): a 500 every 25 turns, a stream cut after two deltas
    every 40, a non-JSON event every 30, keep-alive comments every 20, a reasoning
    answer every 35, events split inside characters every 45, CRLF + `data:` with
    no space every 50, a slow first token every 60. Turns 50 and 300 are clean.
    """
    history = tmp_path / "history"
    samples: dict[int, dict[str, float]] = {}
    with SoakServer() as server:
        chat = new_chat(server.url)
        real_renderer = chat.make_renderer

        def sample() -> None:
            n = int(chat.conversation.messages[-1].content.removeprefix("msg-"))
            if n in SAMPLE_AT:
                gc.collect()
                samples[n] = {
                    "time": time.perf_counter(),
                    "fds": open_fds(),
                    "rss": rss_bytes(),
                    "blocks": sys.getallocatedblocks(),
                    "threads": threading.active_count(),
                }

        chat.make_renderer = lambda: ProbedRenderer(real_renderer(), sample)
        keys = "".join(f"msg-{n}{ENTER}" for n in range(1, TURNS + 1)) + CTRL_D
        started = time.perf_counter()
        code = drive_fed(chat, keys, history)
        elapsed = time.perf_counter() - started
        sent, last_request = list(server.sent), server.last_request

    captured = capsys.readouterr()
    assert code == 0

    # The figures, for `pytest -s` and for the report.
    before, after = samples.get(50), samples.get(TURNS)
    assert before is not None and after is not None, f"sampled turns: {sorted(samples)}"
    steady = (TURNS - 50) / (after["time"] - before["time"])
    figures = {
        "soak_turns": TURNS,
        "soak_seconds": round(elapsed, 2),
        "soak_turns_per_second": round(TURNS / elapsed, 1),
        "soak_turns_per_second_51_to_300": round(steady, 1),
        "soak_fds_turn_50": before["fds"],
        "soak_fds_turn_300": after["fds"],
        "soak_rss_mb_turn_50": round(before["rss"] / MIB, 1),
        "soak_rss_mb_turn_300": round(after["rss"] / MIB, 1),
        "soak_rss_growth_mb": round((after["rss"] - before["rss"]) / MIB, 2),
        "soak_py_blocks_turn_50": before["blocks"],
        "soak_py_blocks_turn_300": after["blocks"],
        "soak_threads_turn_50": before["threads"],
        "soak_threads_turn_300": after["threads"],
        "soak_last_request_bytes": len(json.dumps(last_request)),
    }
    report_figures(figures, record_property, capsys, request)

    # Every message reached the server, in order, once.
    assert sent == [f"msg-{n}" for n in range(1, TURNS + 1)]

    # Every full answer was shown exactly once; lost ones not at all.
    out_lines = captured.out.splitlines()
    counts: dict[str, int] = {}
    for line in out_lines:
        counts[line] = counts.get(line, 0) + 1
    missing = [
        n
        for n in range(1, TURNS + 1)
        if fault(n) not in LOST and counts.get(f"You said: msg-{n}") != 1
    ]
    assert missing == [], f"answers not shown exactly once: {missing[:20]}"
    shown_lost = [
        n for n in range(1, TURNS + 1) if fault(n) in LOST and f"You said: msg-{n}" in counts
    ]
    assert shown_lost == []
    cut_turns = [n for n in range(1, TURNS + 1) if fault(n) == "cut"]
    error_turns = [n for n in range(1, TURNS + 1) if fault(n) == "500"]
    bad_json_turns = [n for n in range(1, TURNS + 1) if fault(n) == "bad-json"]
    assert counts.get("You said") == len(cut_turns)  # the partial answers
    assert not any("Let me think" in line for line in out_lines)  # reasoning stays off a pipe

    # One line on stderr per failed turn and per skipped event, nothing else.
    err_lines = captured.err.splitlines()
    assert [line for line in err_lines if line.startswith("error:") and "boom" in line] == [
        f"error: the server answered 500 Internal Server Error: boom at msg-{n}"
        for n in error_turns
    ]
    lost_lines = [line for line in err_lines if "connection was lost" in line]
    assert len(lost_lines) == len(cut_turns)
    assert err_lines.count("[incomplete]") == len(cut_turns)
    assert err_lines.count("skipped an event that was not valid JSON") == len(bad_json_turns)
    assert len(err_lines) == 2 * len(cut_turns) + len(error_turns) + len(bad_json_turns)
    assert "Traceback" not in captured.err

    # The history file holds every line typed, in order.
    assert history_entries(history) == [f"msg-{n}" for n in range(1, TURNS + 1)]

    # The conversation in the last request: roles alternate, failed turns left out,
    # cut-off answers kept as far as they came.
    messages = last_request["messages"]
    roles = [m["role"] for m in messages]
    assert roles == ["user", "assistant"] * (len(roles) // 2) + ["user"]
    expected: list[dict[str, str]] = []
    for n in range(1, TURNS):
        if fault(n) == "500":
            continue
        answer = "You said" if fault(n) == "cut" else f"You said: msg-{n}"
        expected += [
            {"role": "user", "content": f"msg-{n}"},
            {"role": "assistant", "content": answer},
        ]
    assert messages == [*expected, {"role": "user", "content": f"msg-{TURNS}"}]

    # Nothing leaks, and a long session stays quick.
    assert after["fds"] <= before["fds"] + 5, figures
    assert after["rss"] - before["rss"] < 50 * MIB, figures
    assert after["blocks"] - before["blocks"] < 100_000, figures
    assert after["threads"] <= before["threads"] + 2, figures
    assert elapsed < 60, figures


# ---- 2. large input ---------------------------------------------------------------------


@pytest.fixture
def digest_server() -> Iterator[DigestServer]:
    with DigestServer() as standin:
        yield standin


@pytest.fixture(scope="module")
def two_mb() -> str:
    return big_text(2 * MIB)


def test_two_mb_piped_to_quick_dash_arrives_intact(digest_server: DigestServer, two_mb) -> None:
    """`vllm-chat -q - < big.txt`: 2 MB (multi-byte, 33k lines) sent as one message."""
    result = run_cli("--url", digest_server.url, "-q", "-", stdin=two_mb.encode("utf-8"))
    assert result.returncode == 0, result.stderr[-2000:]
    assert len(digest_server.requests) == 1
    content = digest_server.requests[0]["messages"][-1]["content"]
    sent = two_mb.rstrip("\n")  # all of it but the final line end, as `$(cat)` takes it
    assert len(content) == len(sent)
    assert sha256(content) == sha256(sent)
    # The answer the user sees names the length and hash of exactly what was sent.
    assert result.stdout == (digest_answer(sent) + "\n").encode()
    assert result.stderr == b""


def test_two_mb_piped_after_a_quick_message(digest_server: DigestServer, two_mb) -> None:
    """`git diff | vllm-chat -q "review"`: the message, a blank line, then all of stdin."""
    result = run_cli("--url", digest_server.url, "-q", "review", stdin=two_mb.encode("utf-8"))
    assert result.returncode == 0, result.stderr[-2000:]
    assert len(digest_server.requests) == 1
    content = digest_server.requests[0]["messages"][-1]["content"]
    expected = "review\n\n" + two_mb.rstrip("\n")  # the final line end dropped
    assert len(content) == len(expected)
    assert sha256(content) == sha256(expected)
    assert result.stdout == (digest_answer(expected) + "\n").encode()


def test_two_mb_bracketed_paste_into_the_repl_is_one_message(
    digest_server: DigestServer, two_mb, tmp_path: Path, capsys
) -> None:
    """A 2 MB bracketed paste (pipe input, written in 64 KiB pieces that split
    multi-byte characters) then Enter: one request, the text intact, one history entry."""
    history = tmp_path / "history"
    keys = paste(two_mb) + ENTER + "after\r" + CTRL_D
    code = drive_fed(new_chat(digest_server.url), keys, history)
    assert code == 0
    out = capsys.readouterr().out
    sent = [request["messages"][-1]["content"] for request in digest_server.requests]
    assert len(sent) == 2, [len(text) for text in sent]
    assert len(sent[0]) == len(two_mb)
    assert sha256(sent[0]) == sha256(two_mb)
    assert sent[1] == "after"
    assert out.splitlines() == [digest_answer(two_mb), digest_answer("after")]
    assert history_entries(history) == [two_mb, "after"]


class RawTerminal(Terminal):
    """The e2e terminal, also noting whether the child asked for bracketed paste."""

    bracketed_paste_on = False

    def write(self, data: str) -> None:
        if "\x1b[?2004h" in data:
            self.bracketed_paste_on = True
        super().write(data)

    def on_screen(self, text: str) -> bool:
        return any(text in line for line in self.display)  # the screen only: cheap

    def pump(self, done: Callable[[], bool], what: str, timeout: float) -> None:
        """Read the child's output until `done()`; big reads, cheap checks."""
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() > deadline:
                screen = "\n".join(line.rstrip() for line in self.display)
                raise AssertionError(f"timed out waiting for {what}; screen:\n{screen}")
            try:
                self.child.read_nonblocking(1 << 16, timeout=0.1)
            except pexpect.TIMEOUT:
                pass
            except pexpect.EOF:
                raise AssertionError(f"the child exited while waiting for {what}") from None


PTY_PASTE_BYTES = 2 * MIB


def test_two_mb_bracketed_paste_in_a_real_terminal(
    digest_server: DigestServer, tmp_path: Path, children
) -> None:
    """The same 2 MB paste through a pseudo-terminal, as a terminal emulator sends it:
    bracketed (only once the prompt asked for it), newlines as CR, written in 64 KiB
    pieces by a thread while the screen is read. The answer, which names the length
    and hash of what the server got, must show on the screen. Measured at 3-7 s from
    the paste to the next prompt (the whole test ~7 s), so the full 2 MB is kept."""
    text = big_text(PTY_PASTE_BYTES)
    history = tmp_path / "history"
    child = spawn_pty(vllm_chat("--url", digest_server.url, "--history-file", str(history)))
    children.append(child)
    term = RawTerminal(child)
    term.pump(term.at_prompt, "the prompt", 15)
    assert term.bracketed_paste_on  # else a terminal would send the paste as typed keys

    started = time.monotonic()
    data = ("\x1b[200~" + text.replace("\n", "\r") + "\x1b[201~\r").encode("utf-8")

    def write_all(chunk: bytes) -> None:
        view = memoryview(chunk)
        while view:
            view = view[os.write(child.child_fd, view) :]

    feeder = feed_in_thread(write_all, data, 64 * 1024)
    answer = digest_answer(text)
    term.pump(lambda: term.on_screen(answer), "the answer", 60)
    term.pump(term.at_prompt, "the prompt after the answer", 15)
    elapsed = time.monotonic() - started
    feeder.join(timeout=5)
    child.send(CTRL_D)
    assert term.wait_exit() == 0

    sent = [request["messages"][-1]["content"] for request in digest_server.requests]
    assert len(sent) == 1, [len(message) for message in sent]
    assert len(sent[0]) == len(text)
    assert sha256(sent[0]) == sha256(text)
    assert history_entries(history) == [text]
    print(f"pty paste of {len(data)} bytes answered in {elapsed:.1f} s")


# ---- 3. large output --------------------------------------------------------------------


@pytest.mark.parametrize("chunk_chars", [7, 1000], ids=["token-sized", "large-deltas"])
def test_two_mb_answer_to_a_pipe_is_byte_exact(server: StandinServer, chunk_chars: int) -> None:
    """`vllm-chat -q ... > file`: a 2 MB answer (multi-byte, many lines) streamed in
    small deltas comes out on stdout exactly as the server sent it."""
    answer = big_text(2 * MIB)
    assert answer.endswith("\n")  # so no final newline is added: stdout == answer
    server.push(Reply(content=answer, chunk_chars=chunk_chars))
    started = time.monotonic()
    result = run_cli("--url", server.url, "-q", "write a lot")
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stderr == b""
    expected = answer.encode("utf-8")
    assert len(result.stdout) == len(expected)
    assert hashlib.sha256(result.stdout).hexdigest() == hashlib.sha256(expected).hexdigest()
    print(f"{len(expected)} bytes in deltas of {chunk_chars} characters: {elapsed:.1f} s")

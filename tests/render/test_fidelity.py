"""Issue 10: every word the model wrote, on screen exactly once, and stored exactly as sent.

Four levels, cheapest first:

* in process, every document of `tests/fidelity_corpus.py` at 40, 80 and 120 columns:
  streamed through `MarkdownRenderer` in random 1-7 character deltas, against the same
  answer rendered once (`render_once`), both shown on an emulated terminal;
* a real turn through `Chat` against the stand-in server: the conversation keeps, and
  the next request sends back, the answer character for character;
* the real command (`python -m vllm_chat -q`) in pseudo-terminals, judged on the
  emulated screen (and on the bytes written, where the emulator cannot be trusted);
* the real command in tmux: skin tones and ZWJ emoji near the right margin, and a
  resize in the middle of a long answer.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import functools
import io
import os
import re
import select
import shlex
import shutil
import subprocess
import sys
import threading
import time
import uuid
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pexpect
import pyte
import pytest
from rich.console import Console

from tests import portability
from tests.processes import argv, spawn_pty, vllm_chat
from tests.render.fidelity import (
    Screen,
    deltas,
    duplicated_lines,
    missing_words,
    play,
    screen_lines,
    strip_escapes,
    words,
)
from tests.render.fidelity_corpus import DOCUMENTS, by_id
from tests.standin import Reply, StandinServer
from vllm_chat.chat.session import Chat
from vllm_chat.client.api import Client
from vllm_chat.render.stream import MarkdownRenderer, render_once

ROOT = Path(__file__).resolve().parents[2]
WIDTHS = (40, 80, 120)
HEIGHT = 50
# A portability run streams each document at one width, the three in turn.
CASES = [
    (doc_id, width)
    for index, (doc_id, _) in enumerate(DOCUMENTS)
    for width in ((WIDTHS[index % len(WIDTHS)],) if portability.ON else WIDTHS)
]
CASE_IDS = [f"{doc_id}@{width}" for doc_id, width in CASES]

# Code points that make a grapheme cluster pyte draws wrong: ZWJ, variation selector 16,
# skin tone modifiers, regional indicators (flags).
_JOINED_EMOJI = re.compile("[\u200d\ufe0f\U0001f3fb-\U0001f3ff\U0001f1e6-\U0001f1ff]")
_SPACE = re.compile(r"\s+")


def _shown(items: list[str], limit: int = 20) -> str:
    more = f" ... and {len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(repr(item) for item in items[:limit]) + more


def _diff(reference: list[str], streamed: list[str], limit: int = 40) -> str:
    lines = list(difflib.unified_diff(reference, streamed, "rendered once", "streamed", n=1))
    lines = [line.rstrip("\n") for line in lines]
    more = [f"... {len(lines) - limit} more diff lines"] if len(lines) > limit else []
    return "\n".join(lines[:limit] + more)


# ---- in process: every document, three widths ---------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def make_console(width: int, height: int = HEIGHT) -> Console:
    return Console(
        file=io.StringIO(),
        width=width,
        height=height,
        force_terminal=True,
        color_system="truecolor",
        legacy_windows=False,
    )


def output_of(console: Console) -> str:
    file = console.file
    assert isinstance(file, io.StringIO)
    return file.getvalue()


def seed_of(doc_id: str, width: int) -> int:
    """Stable across runs and Python versions (unlike `hash`), different per width."""
    return zlib.crc32(f"{doc_id}@{width}".encode())


def reference_lines(text: str, width: int, height: int = HEIGHT) -> list[str]:
    console = make_console(width, height)
    render_once(text, console)
    return play(output_of(console), width, height)


@functools.cache
def screens(doc_id: str, width: int) -> tuple[list[str], list[str]]:
    """(streamed, rendered once) screen lines of a document; computed once for 3 tests."""
    text = by_id(doc_id)
    console = make_console(width)
    clock = FakeClock()
    renderer = MarkdownRenderer(console, clock=clock)
    for delta in deltas(text, seed_of(doc_id, width)):
        renderer.feed(delta)
        clock.now += 0.006  # 12 redraws a second: one every 14 deltas, about 55 characters
    renderer.finish()
    return play(output_of(console), width, HEIGHT), reference_lines(text, width)


@pytest.mark.parametrize(("doc_id", "width"), CASES, ids=CASE_IDS)
def test_streamed_answer_shows_every_word(doc_id: str, width: int) -> None:
    streamed, reference = screens(doc_id, width)
    missing = missing_words(by_id(doc_id), streamed)
    also = sorted(set(missing) & set(missing_words(by_id(doc_id), reference)))
    if len(also) == len(missing):
        where = "the one-shot render misses them too"
    elif also:
        where = f"the one-shot render misses only {_shown(also)}"
    else:
        where = "the one-shot render shows them all"
    assert missing == [], (
        f"{doc_id} at {width} columns: words not on the streamed screen "
        f"({where}): {_shown(missing)}"
    )


@pytest.mark.parametrize(("doc_id", "width"), CASES, ids=CASE_IDS)
def test_streamed_answer_shows_no_line_twice(doc_id: str, width: int) -> None:
    streamed, reference = screens(doc_id, width)
    extra = duplicated_lines(streamed, reference)
    counted = [
        f"{line!r} (streamed {streamed.count(line)}x, rendered once {reference.count(line)}x)"
        for line in extra
    ]
    assert extra == [], (
        f"{doc_id} at {width} columns: lines the streamed screen shows more often than the "
        f"one-shot render:\n  " + "\n  ".join(counted[:15])
    )


@pytest.mark.parametrize(("doc_id", "width"), CASES, ids=CASE_IDS)
def test_streamed_answer_looks_like_one_render(doc_id: str, width: int) -> None:
    streamed, reference = screens(doc_id, width)
    assert streamed == reference, (
        f"{doc_id} at {width} columns: the streamed screen differs from the one-shot "
        f"render:\n{_diff(reference, streamed)}"
    )


def test_the_corpus_is_big_and_varied() -> None:
    """The brief of issue 10: 110+ answers, every class several times, 200-3000 chars."""
    assert len(DOCUMENTS) >= 110
    prefixes = [doc_id.split("-")[0] for doc_id, _ in DOCUMENTS]
    for cls in ("html", "think", "table", "crlf", "link", "code", "emoji"):
        assert prefixes.count(cls) >= 5, cls
    for doc_id, text in DOCUMENTS:
        assert 200 <= len(text) <= 3000, doc_id
        assert not text.lstrip().startswith("<think>"), doc_id  # tags come after the answer
    crlf = [text for doc_id, text in DOCUMENTS if doc_id.startswith("crlf-")]
    assert all("\r\n" in text and "\n" not in text.replace("\r\n", "") for text in crlf)


def test_words_of_the_helpers() -> None:
    """The yardstick itself: entities decode, syntax is no word, wrapping is forgiven."""
    assert words("Use List&lt;String&gt; &amp; __bold__ ___ `snake_case`") == {
        "Use": 1,
        "List": 1,
        "String": 1,
        "bold": 1,
        "snake_case": 1,
    }
    assert (
        missing_words("internationalization snake", ["internatio", "nalization snake_case"]) == []
    )
    assert missing_words("a a a", ["a a"]) == ["a"]
    assert duplicated_lines(["x", "", "y", "x"], ["x", "y", "", ""]) == ["x"]
    pieces = deltas("👨\u200d👩\u200d👧 **bold**\r\n", 7)
    assert "".join(pieces) == "👨\u200d👩\u200d👧 **bold**\r\n"
    assert all(1 <= len(piece) <= 7 for piece in pieces)
    assert play("a 👍🏽 b\nline two", 10, 3) == ["a 👍🏽 b", "line two"]


# ---- stored exactly as sent: a real turn through Chat --------------------------------------

STORED = [
    "html-generics-java",
    "html-inline-tags",
    "html-script-xss",
    "html-comment",
    "html-div-note",
    "think-template-fence",
    "think-midline",
    "think-line-start-prose",
    "think-jinja",
    "think-python-split",
    "think-list-items",
    "think-crlf-fence",
    "think-quote",
    "think-inline-code-and-prose",
    "mixed-html-and-think",
    "crlf-paragraphs-list",
    "crlf-code-fence",
    "crlf-think-midline",
    "crlf-html-generics",
    "crlf-hard-breaks",
    "emoji-zwj-family",
    "emoji-combining-accents",
    "table-escaped-pipes",
    "code-tabs",
    "code-unclosed-fence-end",
    "escape-backslashes",
    "long-token-word",
]


def markdown_chat(url: str) -> Chat:
    """A chat whose answers go through the Markdown renderer to a fake 80x50 terminal."""

    def renderer() -> MarkdownRenderer:
        return MarkdownRenderer(make_console(80))

    return Chat(Client(url), make_renderer=renderer)


@pytest.mark.parametrize("doc_id", STORED)
def test_answer_is_stored_and_sent_back_exactly(server: StandinServer, doc_id: str) -> None:
    text = by_id(doc_id)
    server.push(Reply(content=text, chunk_chars=3))
    chat = markdown_chat(server.url)
    try:
        chat.send(f"show me {doc_id}")
        chat.send("thanks")
    finally:
        chat.client.close()
    assert len(server.requests) == 2
    sent = [m for m in server.requests[1]["messages"] if m.get("role") == "assistant"]
    assert [m["content"] for m in sent][:1] == [text], (
        f"{doc_id}: the next request sent back the answer changed:\n"
        + _diff(
            [repr(line) for line in text.splitlines(True)],
            [repr(line) for line in (sent[0]["content"] if sent else "").splitlines(True)],
        )
    )
    stored = [m.content for m in chat.conversation.messages if m.role == "assistant"]
    assert stored[:1] == [text], f"{doc_id}: the conversation holds the answer changed"


# ---- the real command in pseudo-terminals ---------------------------------------------------

PTY_COLUMNS, PTY_ROWS = 80, 50
PTY_DOCS = [
    "emoji-skin-tones",
    "emoji-zwj-family",
    "emoji-cjk",
    "crlf-code-fence",
    "crlf-table",
    "html-generics-java",
    "html-details",
    "table-eight-columns",
    "table-escaped-pipes",
    "code-nested-fence",
    "code-long-indented-lines",
    "think-midline",
    "link-mixed-everything",
]


class CorpusServer(StandinServer):
    """Answers "doc ID" with that document, so that concurrent commands get their own.

    (Pushed replies go to requests in arrival order, which concurrent clients make
    unpredictable.)
    """

    def __init__(self, chunk_chars: int, delay: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.chunk_chars = chunk_chars
        self.delay = delay
        self.extra: dict[str, Reply] = {}  # replies by name, besides the corpus

    def default_reply(self, body: dict) -> Reply:
        name = body["messages"][-1]["content"].removeprefix("doc ")
        if name in self.extra:
            return self.extra[name]
        return Reply(content=by_id(name), chunk_chars=self.chunk_chars, delay=self.delay)


def child_env(home: Path) -> dict[str, str]:
    """os.environ as `clean_env` leaves it, for commands started outside a test function."""
    env = dict(os.environ)
    for name in ("data", "config"):
        (home / f"xdg-{name}").mkdir(exist_ok=True)
    env["XDG_DATA_HOME"] = str(home / "xdg-data")
    env["XDG_CONFIG_HOME"] = str(home / "xdg-config")
    for name in (
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "VLLM_CHAT_NO_HISTORY",
        "NO_COLOR",
        "COLUMNS",
        "LINES",
    ):
        env.pop(name, None)
    env["TERM"] = "xterm-256color"
    return env


class Terminal(Screen):
    """The grapheme-aware screen, fed by a child in a pty; keeps the raw output too."""

    def __init__(self, child: pexpect.spawn) -> None:
        super().__init__(PTY_COLUMNS, PTY_ROWS, history=100_000)
        self.child = child
        self.stream = pyte.Stream(self)
        self.raw: list[str] = []
        child.logfile_read = self

    def write(self, data: str) -> None:  # pexpect's logfile interface
        self.raw.append(data)
        self.stream.feed(data)

    def flush(self) -> None:
        pass

    def write_process_input(self, data: str) -> None:  # pyte answers a status report
        self.child.send(data)


@dataclasses.dataclass
class PtyRun:
    doc_id: str
    terminal: Terminal
    status: int | None = None

    @property
    def child(self) -> pexpect.spawn:
        return self.terminal.child


def run_all(runs: list[PtyRun], timeout: float) -> None:
    """Read every child's output as it comes, until all have exited."""
    deadline = time.monotonic() + timeout
    pending = {run.child.child_fd: run for run in runs}
    while pending:
        left = deadline - time.monotonic()
        if left <= 0:
            names = ", ".join(run.doc_id for run in pending.values())
            raise AssertionError(f"timed out waiting for the commands of {names}")
        ready, _, _ = select.select(list(pending), [], [], min(left, 0.5))
        for fd in ready:
            run = pending[fd]
            try:
                run.child.read_nonblocking(65536, timeout=0)
            except pexpect.TIMEOUT:
                pass
            except pexpect.EOF:
                run.child.close()
                run.status = run.child.exitstatus
                del pending[fd]


@pytest.fixture(scope="module")
def pty_runs(
    tmp_path_factory: pytest.TempPathFactory, tmux_sessions: TmuxSessions | None
) -> Iterator[dict[str, PtyRun]]:
    """Every PTY_DOCS document through `python -m vllm_chat -q`, all at once.

    The tmux scenarios are started first (`tmux_sessions`), to stream meanwhile.
    """
    env = child_env(tmp_path_factory.mktemp("pty-home"))
    runs: list[PtyRun] = []
    with CorpusServer(chunk_chars=3, delay=0.002) as server:
        try:
            for doc_id in PTY_DOCS:
                child = spawn_pty(
                    vllm_chat("--url", server.url, "-q", f"doc {doc_id}"),
                    rows=PTY_ROWS,
                    columns=PTY_COLUMNS,
                    env=env,
                    timeout=30,
                )
                runs.append(PtyRun(doc_id, Terminal(child)))
            run_all(runs, timeout=60)
            yield {run.doc_id: run for run in runs}
        finally:
            for run in runs:
                if run.child.isalive():
                    run.child.terminate(force=True)


@pytest.mark.parametrize("doc_id", PTY_DOCS)
def test_command_in_a_pty_shows_every_word_once(pty_runs: dict[str, PtyRun], doc_id: str) -> None:
    run = pty_runs[doc_id]
    text = by_id(doc_id)
    lines = screen_lines(run.terminal)
    assert run.status == 0, f"{doc_id}: exit status {run.status}; screen:\n" + "\n".join(lines)
    if _JOINED_EMOJI.search(text):
        # Stock pyte mis-draws joined emoji; judge the words by what the child wrote.
        written = [strip_escapes("".join(run.terminal.raw))]
        missing = missing_words(text, written)
        judged = "in the bytes written"
    else:
        missing = missing_words(text, lines)
        judged = "on the screen"
    assert missing == [], f"{doc_id}: words not {judged}: {_shown(missing)}"
    reference = reference_lines(text, PTY_COLUMNS, PTY_ROWS)
    extra = duplicated_lines(lines, reference)
    assert extra == [], (
        f"{doc_id}: lines shown more often than in the one-shot render:\n  "
        + "\n  ".join(
            f"{line!r} ({lines.count(line)}x, rendered once {reference.count(line)}x)"
            for line in extra[:15]
        )
    )


# ---- the real command in tmux -----------------------------------------------------------------

TMUX = shutil.which("tmux")
EXIT_MARK = "__fidelity_exit__"

THUMBS_ITEMS = [
    # Item lines of 77-80 columns and a few that wrap, with rich's 2 cells for 👍🏽.
    "👍🏽 the parser handles every edge case of the specification, even empty input",
    "👍🏽 tests stream the answers in one-character pieces, which caught two real bugs",
    "👍🏽 the documentation explains the design and its trade-offs without being long",
    "👍🏽 error messages say what went wrong and what to do about it, which is great!!",
    "👍🏽 the benchmark shows no regression on long answers and a gain on the short ones",
    "👍🏽 the commit history is clean, each commit does one thing and says why in its body",
    "👍🏽 the public API did not change, so this release needs no notes for the users",
    "👍🏽 the code style matches the project, and the linter passes on every file here",
]
FAMILY_ITEMS = [item.replace("👍🏽", "👨\u200d👩\u200d👧") for item in THUMBS_ITEMS]
_RESIZE_TEXT = [
    "the scheduler admits new requests while others decode",
    "prefix caching reuses the blocks of a shared system prompt",
    "chunked prefill splits long prompts so decoding never stalls",
    "speculative decoding drafts tokens and verifies them in bulk",
]
# About seventy columns each, in a list taller than the 24-row window.
RESIZE_ITEMS = [f"Item {n:02d}: {_RESIZE_TEXT[n % 4]}" for n in range(1, 25)]


def _list_answer(intro: str, items: list[str]) -> str:
    return intro + "\n\n" + "".join(f"- {item}\n" for item in items) + "\nThat is all.\n"


TMUX_ANSWERS = {
    "thumbs": _list_answer("Review summary:", THUMBS_ITEMS),
    "family": _list_answer("Households on the family plan:", FAMILY_ITEMS),
    "resize": _list_answer("A long list, streamed while the window shrinks:", RESIZE_ITEMS),
}


@dataclasses.dataclass
class TmuxRun:
    capture: str
    exit_line: str
    columns_at_end: int


def _tmux(socket_name: str, *args: str) -> str:
    assert TMUX is not None
    done = subprocess.run(
        [TMUX, "-L", socket_name, *args], capture_output=True, text=True, timeout=10
    )
    if done.returncode != 0:
        raise AssertionError(f"tmux {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


@dataclasses.dataclass
class TmuxSessions:
    """The three scenarios' sessions in one tmux server, started and streaming."""

    socket_name: str
    resized: threading.Event
    errors: list[BaseException]


def _resize_when_half_done(sessions: TmuxSessions, stop: threading.Event) -> None:
    """Narrow the resize scenario's window to 60 columns once item 10 is on screen."""
    try:
        while not stop.wait(0.05):
            shown = _tmux(sessions.socket_name, "capture-pane", "-p", "-J", "-t", "resize")
            if EXIT_MARK in shown:
                return  # too late: the test says so
            if "Item 10:" in shown:
                _tmux(sessions.socket_name, "resize-window", "-t", "resize", "-x", "60")
                sessions.resized.set()
                return
    except BaseException as exc:  # reported by tmux_runs
        sessions.errors.append(exc)


@pytest.fixture(scope="module")
def tmux_sessions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TmuxSessions | None]:
    """Start the tmux scenarios (None without tmux); they stream while other tests run."""
    if TMUX is None:
        yield None
        return
    env = child_env(tmp_path_factory.mktemp("tmux-home"))
    socket_name = f"fidelity-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    sessions = TmuxSessions(socket_name, threading.Event(), [])
    socket_path = ""
    stop = threading.Event()
    watcher = threading.Thread(target=_resize_when_half_done, args=(sessions, stop), daemon=True)
    with CorpusServer(chunk_chars=4, delay=0.016) as server:
        server.extra.update(  # 4 characters (about a token) every 16 ms: 60 tokens/s
            {
                name: Reply(content=text, chunk_chars=4, delay=0.016)
                for name, text in TMUX_ANSWERS.items()
            }
        )
        # The long answer faster (8 characters a delta), to keep the suite quick.
        server.extra["resize"] = Reply(content=TMUX_ANSWERS["resize"], chunk_chars=8, delay=0.016)
        try:
            for name in TMUX_ANSWERS:
                command = shlex.join(
                    [sys.executable, "-m", "vllm_chat", "--url", server.url, "-q", f"doc {name}"]
                )
                # A terminal in use: the answer starts at the bottom of a full screen. (On a
                # fresh screen, tmux pushes the rows a re-flow adds into its scrollback, from
                # the top, live region included: the README says so.)
                used = "for i in $(seq 30); do echo; done; " if name == "resize" else ""
                shell = (
                    f"cd {shlex.quote(str(ROOT))} && {used}{command}; echo {EXIT_MARK} $?; sleep 60"
                )
                size = ["-x", str(PTY_COLUMNS), "-y", "24"]
                subprocess.run(
                    argv([TMUX, "-L", socket_name, "-f", "/dev/null", "new-session", "-d"])
                    + ["-s", name, *size, shell],
                    env=env,
                    check=True,
                    timeout=10,
                )
            socket_path = _tmux(socket_name, "display", "-p", "#{socket_path}").strip()
            watcher.start()
            yield sessions
        finally:
            stop.set()
            if watcher.is_alive():
                watcher.join(timeout=10)
            with contextlib.suppress(Exception):
                subprocess.run(
                    [TMUX, "-L", socket_name, "kill-server"], capture_output=True, timeout=10
                )
            with contextlib.suppress(Exception):
                Path(socket_path).unlink()  # kill-server leaves the socket file behind


@pytest.fixture(scope="module")
def tmux_runs(tmux_sessions: TmuxSessions | None) -> dict[str, TmuxRun]:
    """The tmux scenarios' panes, scrollback included, captured after the commands exit."""
    if tmux_sessions is None:
        pytest.skip("tmux is not installed")
    socket_name = tmux_sessions.socket_name
    deadline = time.monotonic() + 60
    captures: dict[str, str] = {}
    while len(captures) < len(TMUX_ANSWERS):
        if time.monotonic() > deadline:
            raise AssertionError(f"tmux runs timed out; done: {sorted(captures)}")
        for name in TMUX_ANSWERS:
            if name not in captures:
                shown = _tmux(socket_name, "capture-pane", "-p", "-S", "-", "-t", name)
                if EXIT_MARK in shown:
                    captures[name] = shown
        time.sleep(0.05)
    if tmux_sessions.errors:
        raise tmux_sessions.errors[0]
    assert tmux_sessions.resized.is_set(), "the answer ended before the window was resized"
    runs = {}
    for name, capture in captures.items():
        exit_line = next(line for line in capture.splitlines() if EXIT_MARK in line)
        width = int(_tmux(socket_name, "display", "-p", "-t", name, "#{window_width}"))
        runs[name] = TmuxRun(capture, exit_line, width)
    return runs


def _count_in(capture: str, text: str) -> int:
    return _SPACE.sub("", capture).count(_SPACE.sub("", text))


def _assert_items_once(run: TmuxRun, items: list[str], name: str, emoji: str) -> None:
    assert run.exit_line.split()[-1] == "0", f"{name}: {run.exit_line}\n{run.capture}"
    counts = {item: _count_in(run.capture, item.removeprefix(emoji)) for item in items}
    wrong = {item: count for item, count in counts.items() if count != 1}
    assert not wrong, (
        f"{name}: list items not shown exactly once in tmux (text after the emoji, "
        f"whitespace removed):\n  "
        + "\n  ".join(f"{count}x {item!r}" for item, count in wrong.items())
        + "\ncapture (first 60 lines):\n"
        + "\n".join(run.capture.splitlines()[:60])
    )


def _assert_text_once(run: TmuxRun, name: str, columns: int) -> None:
    """Whitespace aside, the capture holds the answer rendered once, and nothing more.

    Catches what the item counts cannot: a fragment left behind (such as the first
    delta of a line), or a line drawn twice that is no list item.
    """
    lines = [line for line in run.capture.splitlines() if EXIT_MARK not in line]
    shown = _SPACE.sub("", "".join(lines))
    rendered = _SPACE.sub("", "".join(reference_lines(TMUX_ANSWERS[name], columns, 24)))
    at = next(
        (i for i, (a, b) in enumerate(zip(shown, rendered, strict=False)) if a != b),
        min(len(shown), len(rendered)),
    )
    assert shown == rendered, (
        f"{name}: the tmux capture is not the answer once (whitespace removed): "
        f"{len(shown)} characters against {len(rendered)}; first difference at {at}:\n"
        f"  capture:  ...{shown[max(0, at - 30) : at + 50]!r}\n"
        f"  rendered: ...{rendered[max(0, at - 30) : at + 50]!r}\n"
        "capture (first 30 lines):\n" + "\n".join(lines[:30])
    )


def test_tmux_skin_tone_items_are_shown_once(tmux_runs: dict[str, TmuxRun]) -> None:
    _assert_items_once(tmux_runs["thumbs"], THUMBS_ITEMS, "thumbs", "👍🏽")
    _assert_text_once(tmux_runs["thumbs"], "thumbs", PTY_COLUMNS)


def test_tmux_zwj_family_items_are_shown_once(tmux_runs: dict[str, TmuxRun]) -> None:
    _assert_items_once(tmux_runs["family"], FAMILY_ITEMS, "family", "👨\u200d👩\u200d👧")
    _assert_text_once(tmux_runs["family"], "family", PTY_COLUMNS)


def test_tmux_resize_mid_answer_shows_every_item_once(tmux_runs: dict[str, TmuxRun]) -> None:
    run = tmux_runs["resize"]
    assert run.columns_at_end == 60, "the window was not resized"
    _assert_items_once(run, RESIZE_ITEMS, "resize", "")
    missing = missing_words(TMUX_ANSWERS["resize"], run.capture.splitlines())
    assert missing == [], f"resize: words not in the capture: {_shown(missing)}"
    _assert_text_once(run, "resize", 60)

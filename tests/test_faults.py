"""What a person sees when something goes wrong: one test per failure, end to end.

Every test talks to the real stand-in server (or a real socket that misbehaves) on
127.0.0.1 and watches the real program: the `vllm-chat` command in a subprocess or a
pseudo-terminal, or the REPL driven through prompt_toolkit's pipe input. Nothing is
patched. Where the product falls short of its spec the test stays, marked
`xfail(strict=True)` with the bug it shows.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pexpect
import pytest

from tests.inprocess import run_main
from tests.ports import release
from tests.processes import argv, spawn_pty, unprivileged_or_skip, vllm_chat
from tests.repl.test_repl import CTRL_D, dead_port, drive, new_chat
from tests.standin import Reply, StandinServer, vllm_error
from tests.test_cli import ROOT, wait_for
from tests.test_e2e import COLUMNS, Terminal, spawn

UP = "\x1b[A"


def popen_quick(url: str, *args: str) -> subprocess.Popen[bytes]:
    """`python -m vllm_chat --url URL ARGS` with stdout and stderr pipes (not a terminal)."""
    return subprocess.Popen(
        argv(vllm_chat("--url", url, *args)),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )


class RawLog:
    """Everything the child wrote to its terminal, as read, passed on to the screen."""

    def __init__(self, term: Terminal) -> None:
        self.term = term
        self.chunks: list[str] = []
        term.child.logfile_read = self

    def write(self, data: str) -> None:
        self.chunks.append(data)
        self.term.write(data)

    def flush(self) -> None:
        pass

    @property
    def text(self) -> str:
        return "".join(self.chunks)


@pytest.fixture
def tty() -> Iterator[Callable[..., tuple[pexpect.spawn, Terminal, RawLog]]]:
    """Start `vllm-chat ARGS` in a pseudo-terminal; every child is ended at teardown."""
    started: list[pexpect.spawn] = []

    def start(*args: str) -> tuple[pexpect.spawn, Terminal, RawLog]:
        child, term = spawn(*args)
        started.append(child)
        return child, term, RawLog(term)

    yield start
    for child in started:
        if child.isalive():
            child.terminate(force=True)


def error_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("error: ")]


def logical_lines(term: Terminal) -> list[str]:
    """The screen's lines with the terminal's wrapping of long lines undone."""
    lines: list[str] = []
    wrapped = False
    for line in term.seen_lines():
        if wrapped:
            lines[-1] += line
        else:
            lines.append(line)
        wrapped = len(line) == COLUMNS
    return lines


def screen_errors(term: Terminal) -> list[str]:
    return error_lines("\n".join(logical_lines(term)))


def only_line(stderr: str | bytes) -> str:
    """The one line on stderr, an error line; no traceback, nothing else."""
    text = stderr.decode() if isinstance(stderr, bytes) else stderr
    lines = text.splitlines()
    assert len(lines) == 1, text
    assert lines[0].startswith("error: "), text
    return lines[0]


# ---- 1. -q and Ctrl-C ------------------------------------------------------------------


def test_ctrl_c_during_quick_keeps_the_printed_part_and_exits_130(server: StandinServer) -> None:
    full = "word " * 400
    server.push(Reply(content=full, chunk_chars=5, delay=0.02))
    with popen_quick(server.url, "-q", "hi") as child:
        assert child.stdout is not None
        seen = b""
        while len(seen) < 20:  # some of the answer has reached the reader
            piece = child.stdout.read1(4096)
            assert piece, "the answer never started"
            seen += piece
        child.send_signal(signal.SIGINT)
        rest, err = child.communicate(timeout=10)
    out = seen + rest
    assert child.returncode == 130
    # Everything printed is kept: the answer's beginning, cut short, ended by a newline.
    assert out.endswith(b"\n")
    assert full.encode().startswith(out[:-1])
    assert len(seen) <= len(out) - 1 < len(full)
    assert "[interrupted]" in err.decode()
    assert "Traceback" not in err.decode()
    assert wait_for(lambda: server.aborted == 1)


# ---- 2. Ctrl-C before the first token ------------------------------------------------------


def test_ctrl_c_before_the_first_token_in_the_repl(server: StandinServer, tty) -> None:
    child, term, _ = tty("--url", server.url, "--no-history")
    term.wait_prompt()
    server.push(Reply(content="far too late", hang=30))
    child.send("question\r")
    server.wait_for_requests(1)
    time.sleep(0.2)  # the client is now waiting for the answer to begin
    child.sendintr()
    # The server stays silent for 30 s, longer than wait_text waits: no waiting for it.
    term.wait_text("[interrupted before the answer began]")
    term.wait_prompt()
    assert wait_for(lambda: server.aborted == 1)

    child.send("next\r")
    term.wait_text("You said: next")
    term.wait_prompt()
    # The unanswered question is not part of the conversation.
    assert server.requests[-1]["messages"] == [{"role": "user", "content": "next"}]
    child.send(CTRL_D)
    assert term.wait_exit() == 0
    assert "far too late" not in term.seen_text()


def test_ctrl_c_before_the_first_token_with_quick_exits_130(server: StandinServer) -> None:
    server.push(Reply(content="far too late", hang=30))
    with popen_quick(server.url, "-q", "hi") as child:
        server.wait_for_requests(1)
        time.sleep(0.2)
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=20)  # the server is silent for 30 s
    assert child.returncode == 130
    assert out == b""
    assert "[interrupted before the answer began]" in err.decode()
    assert "Traceback" not in err.decode()
    assert wait_for(lambda: server.aborted == 1)


# ---- 3. read timeout ---------------------------------------------------------------------


def test_read_timeout_in_the_repl_is_one_line_and_the_session_goes_on(
    server: StandinServer, capsys
) -> None:
    server.push(Reply(content="far too late", first_token_delay=30))
    assert drive(new_chat(server.url, timeout=0.5), "slow\rnext\r" + CTRL_D) == 0
    captured = capsys.readouterr()
    line = only_line(captured.err)
    assert "--timeout" in line and "0.5 s" in line
    assert "You said: next" in captured.out
    assert "far too late" not in captured.out
    assert server.requests[-1]["messages"] == [{"role": "user", "content": "next"}]


@pytest.fixture
def mute_listener() -> Iterator[str]:
    """A URL whose server accepts connections but never answers (a hung process)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)  # the kernel completes handshakes; nobody ever reads or writes
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/v1"


@pytest.mark.parametrize("where", ["silent-stream", "no-headers"])
def test_read_timeout_with_quick_exits_1_with_one_line(
    server: StandinServer, mute_listener: str, where: str
) -> None:
    if where == "silent-stream":
        server.push(Reply(content="far too late", first_token_delay=30))
        url = server.url
    else:
        url = mute_listener
    result = run_main("--url", url, "--timeout", "0.5", "-q", "hi")  # neither answers in 30 s
    assert result.returncode == 1
    assert result.stdout == b""
    line = only_line(result.stderr)
    assert "--timeout" in line and "0.5 s" in line


# ---- 4. connect timeout --------------------------------------------------------------------


@pytest.fixture
def black_hole() -> Iterator[str]:
    """A URL whose connects never complete: a listener with a full accept queue.

    Linux drops further SYNs while a listener's accept queue is full, so a new
    connect waits for retransmits. Skips where that cannot be arranged.
    """
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    address = listener.getsockname()
    fillers = []
    for _ in range(3):
        filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        filler.setblocking(False)
        filler.connect_ex(address)
        fillers.append(filler)
    time.sleep(0.05)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.3)
        try:
            probe.connect(address)
            hole = False
        except TimeoutError:
            hole = True
        except OSError:
            hole = False
    try:
        if not hole:
            pytest.skip("this system completes connects to a full listener; no black hole")
        yield f"http://{address[0]}:{address[1]}/v1"
    finally:
        for sock in [*fillers, listener]:
            sock.close()


def test_connect_timeout_exits_1_and_names_the_flag(black_hole: str) -> None:
    result = run_main("--url", black_hole, "--connect-timeout", "0.5", "-q", "hi")
    assert result.returncode == 1
    assert result.stdout == b""
    line = only_line(result.stderr)
    assert "--connect-timeout" in line and black_hole in line and "0.5 s" in line


# ---- 5. server not running at start ---------------------------------------------------------


def test_server_down_at_start_then_started(server_factory, tty) -> None:
    port = dead_port()
    url = f"http://127.0.0.1:{port}/v1"
    child, term, _ = tty("--url", url, "--no-history")
    term.wait_prompt()
    lines = logical_lines(term)
    errors = screen_errors(term)
    assert len(errors) == 1, errors
    assert url in errors[0]
    assert "vllm serve" in errors[0] and "--url" in errors[0]
    assert any(line.startswith("vllm-chat ") and url in line for line in lines), lines
    assert "Traceback" not in term.seen_text()

    release(port)
    late = server_factory(port=port)
    child.send("hello\r")
    term.wait_text("You said: hello")
    term.wait_prompt()
    assert late.models_calls >= 1  # the model was detected now
    assert [request["model"] for request in late.requests] == ["standin-model"]
    child.send(CTRL_D)
    assert term.wait_exit() == 0


# ---- 6. rejected key in the REPL -------------------------------------------------------------

SECRET = "sekrit-KEY-123"


@pytest.mark.parametrize(
    ("how", "source"),
    [("flag", "--api-key"), ("env", "OPENAI_API_KEY")],
)
def test_rejected_key_in_the_repl_names_its_source_never_its_text(
    server_factory, tty, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str, source: str
) -> None:
    protected = server_factory(api_key="the-right-key")
    history = tmp_path / "history"
    args = ["--url", protected.url, "--history-file", str(history)]
    if how == "flag":
        args += ["--api-key", SECRET]
    else:
        monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    child, term, raw = tty(*args)
    term.wait_prompt()
    child.send("hello\r")
    term.wait(lambda: len(screen_errors(term)) >= 2, "the second error")
    term.wait_prompt()
    child.send(CTRL_D)
    assert term.wait_exit() == 0

    errors = screen_errors(term)
    assert len(errors) == 2, errors  # at start, then for "hello"
    assert all(source in error and "401" in error for error in errors), errors
    assert [headers["Authorization"] for headers in protected.headers] == [f"Bearer {SECRET}"] * 2
    assert SECRET not in raw.text
    assert "+hello\n" in history.read_text()
    assert SECRET not in history.read_text()


# ---- 7. context length exceeded -----------------------------------------------------------

CONTEXT_ERROR = (
    "This model's maximum context length is 4096 tokens. However, you requested 5000 "
    "tokens (4000 in the messages, 1000 in the completion). Please reduce the length of "
    "the messages or completion."
)


def test_context_length_error_shows_the_servers_words_and_suggests_reset(
    server: StandinServer, capsys
) -> None:
    server.push(
        Reply(content="first answer"), Reply(status=400, error_body=vllm_error(CONTEXT_ERROR, 400))
    )
    assert drive(new_chat(server.url), "one\rtoo long\r/reset\rafresh\r" + CTRL_D) == 0
    captured = capsys.readouterr()
    line = only_line(captured.err)
    assert CONTEXT_ERROR in line and "/reset" in line
    assert "conversation cleared (1 turn forgotten)" in captured.out
    assert server.requests[-1]["messages"] == [{"role": "user", "content": "afresh"}]


# ---- 8. server errors in every shape ---------------------------------------------------------

MESSAGE = "the GPU caught fire, please retry"
BODY_SHAPES = {
    "vllm": (vllm_error(MESSAGE, 500), "application/json"),
    "detail": ({"detail": MESSAGE}, "application/json"),
    "text": (MESSAGE + "\n", "text/plain; charset=utf-8"),
    "message": ({"message": MESSAGE}, "application/json"),
}


@pytest.mark.parametrize("shape", BODY_SHAPES)
@pytest.mark.parametrize(
    ("status", "reason"), [(500, "Internal Server Error"), (503, "Service Unavailable")]
)
def test_server_error_shows_the_servers_message_on_one_line(
    server: StandinServer, capsys, status: int, reason: str, shape: str
) -> None:
    body, content_type = BODY_SHAPES[shape]
    server.push(Reply(status=status, error_body=body, error_content_type=content_type))
    assert drive(new_chat(server.url), "one\rtwo\r" + CTRL_D) == 0
    captured = capsys.readouterr()
    line = only_line(captured.err)
    assert f"{status} {reason}: {MESSAGE}" in line
    assert "You said: two" in captured.out
    assert MESSAGE not in captured.out


def test_bare_unauthorized_401_shows_the_servers_word(server: StandinServer, capsys) -> None:
    server.push(Reply(status=401, error_body={"error": "Unauthorized"}))
    assert drive(new_chat(server.url), "one\rtwo\r" + CTRL_D) == 0
    captured = capsys.readouterr()
    line = only_line(captured.err)
    assert "401" in line and "Unauthorized" in line
    assert "You said: two" in captured.out


# ---- 9. a failed turn leaves the conversation as it was ---------------------------------------

FAILED_TURNS = {
    "500": Reply(status=500, error_body=vllm_error("boom", 500)),
    "cut-before-any-token": Reply(content="never seen", cut_after=0),
    "stream-error-before-any-token": Reply(content="", stream_error="engine died"),
    "read-timeout": Reply(content="far too late", first_token_delay=3),
}


@pytest.mark.parametrize("failure", FAILED_TURNS)
def test_failed_turn_is_forgotten(server: StandinServer, capsys, failure: str) -> None:
    server.push(Reply(content="first answer"), FAILED_TURNS[failure])
    chat = new_chat(server.url, timeout=0.5)
    assert drive(chat, "one\rfailing message\rthree\r" + CTRL_D) == 0
    captured = capsys.readouterr()
    assert len(error_lines(captured.err)) == 1, captured.err
    assert "You said: three" in captured.out
    assert [request["messages"][-1]["content"] for request in server.requests] == [
        "one",
        "failing message",
        "three",
    ]
    assert server.requests[-1]["messages"] == [
        {"role": "user", "content": "one"},
        {"role": "assistant", "content": "first answer"},
        {"role": "user", "content": "three"},
    ]


def test_failed_message_is_one_up_arrow_away(server: StandinServer, tty) -> None:
    server.push(Reply(status=500, error_body=vllm_error("boom", 500)))
    child, term, _ = tty("--url", server.url, "--no-history")
    term.wait_prompt()
    child.send("failing message\r")
    term.wait_text("500 Internal Server Error: boom")
    term.wait_prompt()
    child.send(UP)
    term.wait(lambda: term.display[term.cursor.y].rstrip() == "> failing message", "the recall")
    child.send("\r")
    term.wait_text("You said: failing message")
    term.wait_prompt()
    child.send(CTRL_D)
    assert term.wait_exit() == 0
    assert [request["messages"] for request in server.requests] == [
        [{"role": "user", "content": "failing message"}]
    ] * 2


# ---- 10. text the server controls cannot drive the terminal -----------------------------------

EVIL_MODEL = "evil\x1b]52;c;aGk=\x07model"
FORBIDDEN = ("\x1b]52", "\x1b]8", "\x1b[2J")  # clipboard, any hyperlink, clear screen


def test_server_text_on_a_terminal_carries_no_escape_sequences(server_factory, tty) -> None:
    evil = server_factory(models=[EVIL_MODEL, "standin-model"])
    reasoning = "pondering \x1b]52;c;aGk=\x07deeply\n"
    content = (
        "Answer \x1b[2Jwith \x1b]8;;http://x\x07a link\x1b]8;;\x07 and **bold** end\n\n"
        "See [the docs](http://evil.example/x) now.\n"  # rich would make a hidden OSC 8 link
    )
    evil.push(
        Reply(status=500, error_body=vllm_error("bad \x1b[2Jthing \x1b]8;;http://x\x07here", 500)),
        # Whole sequences in one delta are removed whole...
        Reply(reasoning=reasoning, content=content, chunk_chars=1000),
        # ...and cut anywhere they lose their ESC (leftovers show as text, by design).
        Reply(reasoning=reasoning, content=content.replace("end", "fin"), chunk_chars=1),
    )
    child, term, raw = tty("--url", evil.url, "--no-history")
    term.wait_prompt()
    child.send("/model\r")
    term.wait_text("* evilmodel")
    term.wait_prompt()
    child.send("one\r")
    term.wait_text("500 Internal Server Error: bad thing here")
    term.wait_prompt()
    child.send("two\r")
    term.wait_text("and bold end")
    term.wait_prompt()
    child.send("three\r")
    term.wait_text("bold fin")
    term.wait_prompt()
    child.send(CTRL_D)
    assert term.wait_exit() == 0

    screen = term.seen_text()
    assert "model evilmodel" in screen  # the start line
    assert "pondering deeply" in screen
    assert "Answer with a link and bold end" in screen
    assert "the docs (http://evil.example/x) now" in screen  # the URL is shown, not hidden
    assert evil.requests[0]["model"] == EVIL_MODEL
    for sequence in FORBIDDEN:
        assert sequence not in raw.text, sequence


def test_quick_to_a_pipe_passes_the_answer_through_byte_for_byte(server: StandinServer) -> None:
    answer = "\x1b[31mred\x1b[0m and \x1b]8;;http://x\x07a link\x1b]8;;\x07"
    server.push(Reply(content=answer, reasoning="hidden \x1b[2J", chunk_chars=3))
    result = run_main("--url", server.url, "-q", "hi")
    assert result.returncode == 0, result.stderr
    assert result.stdout == (answer + "\n").encode()
    assert result.stderr == b""


# ---- 11. the history file ------------------------------------------------------------------


def history_entries(path: Path) -> list[str]:
    return re.findall(r"^\+(.*)$", path.read_text(), re.MULTILINE)


def one_warning_then_answers(
    url: str, history: Path, capsys: pytest.CaptureFixture[str], mentions: str
) -> None:
    """A session on `history` warns once about it, and messages still get answers."""
    assert drive(new_chat(url), "hello\ragain\r" + CTRL_D, history) == 0
    captured = capsys.readouterr()
    warnings = captured.err.splitlines()
    assert len(warnings) == 1, warnings
    assert str(history) in warnings[0]
    assert mentions in warnings[0]
    assert warnings[0].endswith("history is kept for this session only")
    assert "You said: hello" in captured.out
    assert "You said: again" in captured.out


def test_history_file_that_is_a_directory(server: StandinServer, tmp_path: Path, capsys) -> None:
    history = tmp_path / "history"
    history.mkdir()
    one_warning_then_answers(server.url, history, capsys, "Is a directory")


@dataclasses.dataclass
class UserHome:
    """A home folder of a user whom file modes bind, and `vllm-chat` started as that user."""

    folder: Path
    owner: tuple[int, int]  # uid, gid
    prefix: list[str]  # runs a command as that user (empty: this user)
    env: dict[str, str]
    children: list[pexpect.spawn]

    def own(self, path: Path, mode: int) -> Path:
        """Give `path` to the user, with `mode`, as a user's own file would be."""
        os.chown(path, *self.owner)
        path.chmod(mode)
        return path

    def start(self, *args: str) -> Terminal:
        child = spawn_pty([*self.prefix, *vllm_chat(*args)], env=self.env)
        self.children.append(child)
        return Terminal(child)


@pytest.fixture
def user_home(children: list[pexpect.spawn]) -> Iterator[UserHome]:
    """As root (CI), where modes bind nobody, the command runs as `nobody` instead.

    Its home is made under the system's temporary folder, as pytest's is private to root.
    """
    prefix, uid, gid = unprivileged_or_skip()
    folder = Path(tempfile.mkdtemp(prefix="vllm-chat-home-"))
    env = {
        **os.environ,
        "HOME": str(folder),
        "XDG_DATA_HOME": str(folder / "data"),
        "XDG_CONFIG_HOME": str(folder / "config"),
    }
    home = UserHome(folder, (uid, gid), prefix, env, children)
    for path in (folder, folder / "data", folder / "config"):
        path.mkdir(exist_ok=True)
        home.own(path, 0o700)
    try:
        yield home
    finally:
        for path in [folder, *folder.rglob("*")]:
            if path.is_dir() and not path.is_symlink():
                path.chmod(0o700)
        shutil.rmtree(folder)


def one_warning_then_answers_in_a_pty(
    user: UserHome, url: str, history: Path, mentions: str
) -> None:
    """The real command on `history` warns once about it, and messages still get answers."""
    term = user.start("--url", url, "--history-file", str(history))
    child = term.child
    for message in ("hello", "again"):
        term.wait_prompt()
        child.send(message + "\r")
        term.wait_text(f"You said: {message}")
    term.wait_prompt()
    child.send(CTRL_D)
    assert term.wait_exit() == 0
    lines = logical_lines(term)
    warnings = [line for line in lines if "history" in line and not line.startswith("> ")]
    assert len(warnings) == 1, "\n".join(lines)
    assert str(history) in warnings[0]
    assert mentions in warnings[0]
    assert warnings[0].endswith("history is kept for this session only")
    assert "Traceback" not in "\n".join(lines)


def test_unreadable_history_file(server: StandinServer, user_home: UserHome) -> None:
    history = user_home.folder / "history"
    history.write_text("\n# 2024-01-01 00:00:00.000000\n+old\n")
    user_home.own(history, 0)
    one_warning_then_answers_in_a_pty(user_home, server.url, history, "Permission denied")
    assert stat.S_IMODE(history.stat().st_mode) == 0
    history.chmod(0o600)
    assert history.read_text() == "\n# 2024-01-01 00:00:00.000000\n+old\n"  # left as it was


def test_history_in_a_read_only_folder(server: StandinServer, user_home: UserHome) -> None:
    folder = user_home.folder / "ro"
    folder.mkdir()
    user_home.own(folder, 0o500)
    history = folder / "history"
    one_warning_then_answers_in_a_pty(user_home, server.url, history, "Permission denied")
    assert list(folder.iterdir()) == []  # nothing could be written there


GARBAGE = (
    b"\x00\xff\xfe binary junk \x1b[2J\n"
    b"\n# 2024-01-01 00:00:00.000000\n+bad \xc3\x28 utf-8 \xff\n"
    b"no prefix at all\n"
    b"\n# 2024-01-01 00:00:01.000000\n+last good entry\n"
)


def test_garbage_history_file_is_survived(server: StandinServer, tmp_path: Path, capsys) -> None:
    history = tmp_path / "history"
    history.write_bytes(GARBAGE)
    history.chmod(0o600)
    # Up as the first key recalls the newest readable entry.
    assert drive(new_chat(server.url), UP + "\rhello\r" + CTRL_D, history) == 0
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    assert len(captured.err.splitlines()) <= 1
    assert "You said: last good entry" in captured.out
    assert "You said: hello" in captured.out
    assert history.read_bytes().startswith(GARBAGE)  # nothing the user had was thrown away


def test_garbage_history_file_gets_one_warning(
    server: StandinServer, tmp_path: Path, capsys
) -> None:
    history = tmp_path / "history"
    history.write_bytes(GARBAGE)
    assert drive(new_chat(server.url), "hello\r" + CTRL_D, history) == 0
    captured = capsys.readouterr()
    assert "You said: hello" in captured.out
    warnings = captured.err.splitlines()
    assert len(warnings) == 1 and str(history) in warnings[0], warnings


def test_readable_history_file_is_made_private(
    server: StandinServer, tmp_path: Path, capsys
) -> None:
    history = tmp_path / "history"
    history.write_text("\n# 2024-01-01 00:00:00.000000\n+old\n")
    history.chmod(0o644)
    assert drive(new_chat(server.url), "hello\r" + CTRL_D, history) == 0
    assert "You said: hello" in capsys.readouterr().out
    assert stat.S_IMODE(history.stat().st_mode) == 0o600
    assert history_entries(history) == ["old", "hello"]  # kept, and still written to


def test_no_history_env_writes_no_file(
    server: StandinServer, tty, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("VLLM_CHAT_NO_HISTORY", "1")
    child, term, _ = tty("--url", server.url)
    term.wait_prompt()
    child.send("unforgettable-words\r")
    term.wait_text("You said: unforgettable-words")
    term.wait_prompt()
    child.send(CTRL_D)
    assert term.wait_exit() == 0
    # conftest points XDG_DATA_HOME (where the history would go) into tmp_path.
    assert not (tmp_path / "xdg-data" / "vllm-chat" / "history").exists()
    # The chat store is separate: --no-history is about the prompt history (--private the store).
    store = tmp_path / "xdg-data" / "vllm-chat" / "chats.db"
    files = [p for p in tmp_path.rglob("*") if p.is_file() and not p.name.startswith(store.name)]
    assert [path for path in files if b"unforgettable-words" in path.read_bytes()] == []
    assert store.exists()


def test_long_history_file_is_cut_to_the_newest_10000(
    server: StandinServer, tmp_path: Path
) -> None:
    history = tmp_path / "history"
    history.write_text(
        "".join(f"\n# 2024-01-01 00:00:00.000000\n+entry {i}\n" for i in range(10_050))
    )
    history.chmod(0o600)
    # Up then Enter re-sends the newest entry, which adds nothing to the file.
    assert drive(new_chat(server.url), UP + "\r" + CTRL_D, history) == 0
    assert server.requests[0]["messages"][-1]["content"] == "entry 10049"
    assert history_entries(history) == [f"entry {i}" for i in range(50, 10_050)]
    assert stat.S_IMODE(history.stat().st_mode) == 0o600

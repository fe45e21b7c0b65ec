"""The chat store as a user meets it: the real `vllm-chat`, in pipes and in a terminal.

`-q`, `-c` and `-r` run the command with pipes (`run_cli`); the REPL's commands are typed
into a real `Repl` over prompt_toolkit's pipe input; what needs a terminal (the toolbar,
Ctrl-C, kill -9, `-c` at start-up) runs in a pseudo-terminal read through `pyte`. All of
them talk to the stand-in server on 127.0.0.1, and the store they share is read back
with `sqlite3`: conftest's XDG_DATA_HOME puts it at tmp_path/xdg-data/vllm-chat/chats.db.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pexpect
import pytest
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from tests.processes import argv, spawn_pty, unprivileged_or_skip, vllm_chat
from tests.repl.test_commands_e2e import toolbar, type_line
from tests.standin import Reply, StandinServer
from tests.test_cli import ROOT, run_cli
from tests.test_e2e import COLUMNS, ROWS, Terminal
from vllm_chat.app import make_chat
from vllm_chat.config.settings import Settings
from vllm_chat.repl.prompt import Repl
from vllm_chat.store.journal import Journal
from vllm_chat.store.resume import continue_stored, keep_in_store

CTRL_D = "\x04"
SLOW = "lorem ipsum " * 60  # 180 pieces, 50 ms apart: seconds of answer to interrupt
PRIVATE_WAYS = ["flag", "env", "config"]


# ---- helpers ---------------------------------------------------------------------------


def db_path(tmp_path: Path) -> Path:
    return tmp_path / "xdg-data" / "vllm-chat" / "chats.db"


def query(path: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    db = sqlite3.connect(path)
    try:
        return db.execute(sql, params).fetchall()
    finally:
        db.close()


def stored_chats(path: Path) -> dict[str, list[tuple[str, str]]]:
    """Every chat's (role, text) messages in order, by chat id."""
    found: dict[str, list[tuple[str, str]]] = {
        chat_id: [] for (chat_id,) in query(path, "SELECT id FROM chats")
    }
    for chat_id, role, content in query(
        path, "SELECT chat_id, role, content FROM messages ORDER BY chat_id, seq"
    ):
        found[chat_id].append((role, json.loads(content)))
    return found


def only_chat(path: Path) -> tuple[str, list[tuple[str, str]]]:
    [(chat_id, messages)] = stored_chats(path).items()
    return chat_id, messages


def turn(text: str) -> list[tuple[str, str]]:
    """One exchange with the stand-in's default answer, as stored."""
    return [("user", text), ("assistant", f"You said: {text}")]


def sent(text: str) -> list[dict[str, str]]:
    """One exchange with the stand-in's default answer, as the next request carries it."""
    return [asked(text), {"role": "assistant", "content": f"You said: {text}"}]


def asked(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def quick(server: StandinServer, *args: str, env: dict[str, str] | None = None) -> bytes:
    """`vllm-chat --url URL ARGS` that must succeed and say nothing on stderr; its stdout."""
    result = run_cli("--url", server.url, *args, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stderr == b"", result.stderr
    return result.stdout


def popen(server: StandinServer, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        argv(vllm_chat("--url", server.url, *args)),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )


def finished(process: subprocess.Popen[bytes]) -> tuple[int, bytes, bytes]:
    out, err = process.communicate(timeout=30)
    return process.returncode, out, err


def make_private(way: str, tmp_path: Path) -> tuple[list[str], dict[str, str]]:
    """The flags and environment that make a run private, the `way` asked for."""
    if way == "flag":
        return ["--private"], {}
    if way == "env":
        return [], {"VLLM_CHAT_PRIVATE": "1"}
    config = tmp_path / "xdg-config" / "vllm-chat" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("private = true\n")
    return [], {}


def repl_session(url: str, keys: str, **chosen: Any) -> Journal:
    """Type `keys` into a real Repl keeping its chat in the store, as the command builds it."""
    settings = Settings(url=url, **chosen)
    chat = make_chat(settings)
    journal = keep_in_store(chat, settings)
    assert continue_stored(chat, journal, settings) is None
    with create_pipe_input() as inp:
        inp.send_text(keys)
        repl = Repl(chat, history_file=None, input=inp, output=DummyOutput(), journal=journal)
        if journal.meta is not None:
            repl.show_resumed()
        assert repl.run() == 0
    return journal


def session(server: StandinServer, *args: str, env: dict[str, str] | None = None) -> Terminal:
    """`vllm-chat --url URL --no-history ARGS` in a terminal, at its first prompt."""
    command = vllm_chat("--url", server.url, "--no-history", *args)
    child = spawn_pty(command, rows=ROWS, columns=COLUMNS, env={**os.environ, **(env or {})})
    term = Terminal(child)
    term.wait_prompt()
    return term


def quit_session(term: Terminal) -> None:
    term.child.send(CTRL_D)
    assert term.wait_exit() == 0


# ---- -q, -c and -r -----------------------------------------------------------------------


def test_continue_sends_the_whole_conversation(server: StandinServer, tmp_path: Path) -> None:
    assert quick(server, "-q", "first") == b"You said: first\n"
    assert quick(server, "-c", "-q", "second") == b"You said: second\n"
    assert server.requests[-1]["messages"] == [*sent("first"), asked("second")]
    path = db_path(tmp_path)
    _, messages = only_chat(path)
    assert messages == [*turn("first"), *turn("second")]
    assert query(path, "PRAGMA integrity_check") == [("ok",)]
    assert query(path, "SELECT title, model, url FROM chats") == [
        ("first", "standin-model", server.url)
    ]
    stats = query(path, "SELECT role, stats FROM messages ORDER BY seq")
    assert [stats for role, stats in stats if role == "user"] == [None, None]
    for raw in (stats for role, stats in stats if role == "assistant"):
        figures = json.loads(raw)
        assert figures["finish_reason"] == "stop"
        assert figures["ttft_ms"] >= 0
        assert set(figures["usage"]) == {"prompt_tokens", "completion_tokens", "total_tokens"}


def test_each_quick_run_is_a_chat_of_its_own(server: StandinServer, tmp_path: Path) -> None:
    quick(server, "-q", "one")
    quick(server, "-q", "two")
    assert server.requests[-1]["messages"] == [asked("two")]
    assert sorted(stored_chats(db_path(tmp_path)).values()) == [turn("one"), turn("two")]


def test_a_failed_or_cut_turn_is_kept_as_far_as_it_went(
    server: StandinServer, tmp_path: Path
) -> None:
    server.push(Reply(content="abcdefghijklmnop", chunk_chars=4, cut_after=2))
    cut = run_cli("--url", server.url, "-q", "cut short")
    assert cut.returncode == 1 and cut.stdout == b"abcdefgh\n"
    server.push(Reply(status=500))
    failed = run_cli("--url", server.url, "-c", "-q", "refused")
    assert failed.returncode == 1
    assert quick(server, "-c", "-q", "after") == b"You said: after\n"
    assert server.requests[-1]["messages"] == [
        asked("cut short"), {"role": "assistant", "content": "abcdefgh"}, asked("after"),
    ]  # fmt: skip
    path = db_path(tmp_path)
    assert query(path, "SELECT seq, partial, json_extract(stats, '$.interrupted') FROM messages"
                 " WHERE role = 'assistant' ORDER BY seq") == [(1, 1, 1), (3, 0, 0)]  # fmt: skip


def test_resume_by_id_prefix_or_by_words(server: StandinServer, tmp_path: Path) -> None:
    quick(server, "-q", "penguins are birds")
    quick(server, "-q", "otters can swim")
    path = db_path(tmp_path)
    [(penguins,)] = query(path, "SELECT id FROM chats WHERE title LIKE 'penguins%'")
    quick(server, "-r", penguins[:6], "-q", "tell me more")
    assert server.requests[-1]["messages"] == [*sent("penguins are birds"), asked("tell me more")]
    quick(server, "--resume", "otters", "-q", "and?")
    assert server.requests[-1]["messages"] == [*sent("otters can swim"), asked("and?")]
    quick(server, "-r", "tell more", "-q", "last")  # words of any message, not just the title
    carried = server.requests[-1]["messages"][:4]
    assert carried == [*sent("penguins are birds"), *sent("tell me more")]
    turns = {messages[0][1]: len(messages) // 2 for messages in stored_chats(path).values()}
    assert turns == {"penguins are birds": 3, "otters can swim": 2}


def test_continue_restores_the_chat_settings_and_flags_win(
    server: StandinServer, tmp_path: Path
) -> None:
    quick(server, "--model-name", "standin-model-large", "--system-prompt", "Be terse.",
          "--temperature", "0.5", "-q", "one")  # fmt: skip
    quick(server, "-c", "-q", "two")
    restored = server.requests[-1]
    assert restored["model"] == "standin-model-large"
    assert restored["temperature"] == 0.5
    assert restored["messages"] == [
        {"role": "system", "content": "Be terse."}, *sent("one"), asked("two"),
    ]  # fmt: skip
    quick(server, "-c", "--temperature", "0.1", "--system-prompt", "Be kind.", "-q", "three")
    flagged = server.requests[-1]
    assert flagged["temperature"] == 0.1
    assert flagged["messages"][0] == {"role": "system", "content": "Be kind."}
    assert query(db_path(tmp_path), "SELECT model, system_prompt, sampling FROM chats") == [
        ("standin-model-large", "Be kind.", json.dumps({"temperature": 0.1}))
    ]


def test_continue_with_a_model_the_server_lost(
    server: StandinServer, server_factory, tmp_path: Path
) -> None:
    quick(server, "--model-name", "standin-model-large", "-q", "one")
    other = server_factory(models=["another-model"])
    result = run_cli("--url", other.url, "-c", "-q", "two")
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"You said: two\n"
    [line] = result.stderr.decode().splitlines()
    assert "model standin-model-large of chat" in line
    assert line.endswith("going on with another-model")
    assert other.requests[-1]["model"] == "another-model"
    assert other.requests[-1]["messages"] == [*sent("one"), asked("two")]


def test_resume_without_a_match_is_a_usage_error(server: StandinServer, tmp_path: Path) -> None:
    quick(server, "-q", "something")
    result = run_cli("--url", server.url, "-r", "nomatch", "-q", "x")
    assert result.returncode == 2
    assert result.stderr == b"error: no stored chat matches 'nomatch'\n"
    assert result.stdout == b""
    assert len(server.requests) == 1  # nothing was sent
    assert len(stored_chats(db_path(tmp_path))) == 1


def test_continue_with_nothing_stored_starts_a_new_chat(
    server: StandinServer, tmp_path: Path
) -> None:
    result = run_cli("--url", server.url, "-c", "-q", "hello")
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"You said: hello\n"
    assert result.stderr == b"no chat to continue yet: this one is new\n"
    assert only_chat(db_path(tmp_path))[1] == turn("hello")


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        (["-c", "-r", "abc"], "-c and -r"),
        (["-c", "--load", "chat.json"], "-c and --load"),
        (["--continue", "--resume", "abc"], "-c and -r"),
        (["-r", "abc", "--load", "chat.json"], "-r and --load"),
    ],
)
def test_two_ways_to_choose_the_chat_are_a_usage_error(
    server: StandinServer, tmp_path: Path, flags: list[str], named: str
) -> None:
    result = run_cli("--url", server.url, *flags, "-q", "x")
    assert result.returncode == 2
    assert f"error: {named} each choose the chat to go on with: give one" in result.stderr.decode()
    assert result.stdout == b""
    assert server.requests == []
    assert not db_path(tmp_path).exists()


def test_resume_without_a_query_cannot_pick_with_quick(server: StandinServer) -> None:
    quick(server, "-q", "something")
    result = run_cli("--url", server.url, "-r", "-q", "x")
    assert result.returncode == 2
    assert result.stderr.decode().startswith("error: -r without QUERY picks from a list")
    assert "give QUERY" in result.stderr.decode()
    assert result.stdout == b""
    assert len(server.requests) == 1


# ---- private runs ------------------------------------------------------------------------


@pytest.mark.parametrize("way", PRIVATE_WAYS)
def test_a_private_run_creates_no_store(server: StandinServer, tmp_path: Path, way: str) -> None:
    flags, env = make_private(way, tmp_path)
    assert quick(server, *flags, "-q", "secret words", env=env) == b"You said: secret words\n"
    assert not db_path(tmp_path).parent.exists()
    written = [p for p in tmp_path.rglob("*") if p.is_file() and b"secret" in p.read_bytes()]
    assert written == []


@pytest.mark.parametrize("way", PRIVATE_WAYS)
def test_a_private_run_leaves_the_store_as_it_was(
    server: StandinServer, tmp_path: Path, way: str
) -> None:
    quick(server, "-q", "public words")
    path = db_path(tmp_path)
    before = digest(path)
    flags, env = make_private(way, tmp_path)
    quick(server, *flags, "-q", "secret words", env=env)
    # -c reads the latest chat and sends it, and still writes nothing.
    quick(server, *flags, "-c", "-q", "more secrets", env=env)
    assert server.requests[-1]["messages"] == [*sent("public words"), asked("more secrets")]
    assert digest(path) == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["chats.db"]
    assert only_chat(path)[1] == turn("public words")


def test_private_continue_with_no_store_creates_none(server: StandinServer, tmp_path: Path) -> None:
    result = run_cli("--url", server.url, "--private", "-c", "-q", "hello")
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"You said: hello\n"
    assert b"no chat to continue yet" in result.stderr
    assert not db_path(tmp_path).exists()
    assert not db_path(tmp_path).parent.exists()


def test_private_off_in_the_environment_stores(server: StandinServer, tmp_path: Path) -> None:
    quick(server, "-q", "kept", env={"VLLM_CHAT_PRIVATE": "0"})
    assert only_chat(db_path(tmp_path))[1] == turn("kept")


@pytest.mark.parametrize("way", PRIVATE_WAYS)
def test_the_toolbar_says_a_run_is_private(
    server: StandinServer, tmp_path: Path, children, way: str
) -> None:
    flags, env = make_private(way, tmp_path)
    term = session(server, *flags, env=env)
    children.append(term.child)
    assert "private: nothing stored" in toolbar(term)
    type_line(term.child, term, "hush", "You said: hush")
    assert "private: nothing stored" in toolbar(term)
    type_line(term.child, term, "/chats", "keeps no chats")
    quit_session(term)
    assert not db_path(tmp_path).parent.exists()


# ---- in a terminal -----------------------------------------------------------------------


def test_continue_in_the_repl_shows_where_the_chat_stands(
    server: StandinServer, tmp_path: Path, children
) -> None:
    quick(server, "-q", "first")
    quick(server, "-c", "-q", "second")
    chat_id, _ = only_chat(db_path(tmp_path))
    term = session(server, "-c")
    children.append(term.child)
    seen = term.seen_text()
    assert f"continuing chat {chat_id} · first · 2 turns" in seen
    shown = seen.split("continuing chat", 1)[1]
    for text in ("── 1 · you ──\nfirst", "You said: first", "── 2 · you ──\nsecond",
                 "You said: second"):  # fmt: skip
        assert text in shown
    assert "private" not in toolbar(term)
    type_line(term.child, term, "third", "You said: third")
    assert server.requests[-1]["messages"] == [*sent("first"), *sent("second"), asked("third")]
    quit_session(term)
    assert only_chat(db_path(tmp_path)) == (chat_id, [*turn("first"), *turn("second"),
                                                      *turn("third")])  # fmt: skip


def test_continue_by_words_in_the_repl(server: StandinServer, tmp_path: Path, children) -> None:
    quick(server, "-q", "about walruses")
    quick(server, "-q", "about narwhals")
    term = session(server, "-r", "walruses")
    children.append(term.child)
    assert "continuing chat" in term.seen_text() and "about walruses · 1 turn" in term.seen_text()
    type_line(term.child, term, "go on", "You said: go on")
    assert server.requests[-1]["messages"] == [*sent("about walruses"), asked("go on")]
    type_line(term.child, term, "/history 1", "── 2 · you ──")
    quit_session(term)


def test_resume_without_a_match_in_the_repl_starts_a_new_chat(
    server: StandinServer, tmp_path: Path, children
) -> None:
    quick(server, "-q", "something")
    term = session(server, "-r", "nomatch")
    children.append(term.child)
    assert "no stored chat matches 'nomatch'" in term.seen_text()
    type_line(term.child, term, "fresh", "You said: fresh")
    assert server.requests[-1]["messages"] == [asked("fresh")]
    quit_session(term)
    assert len(stored_chats(db_path(tmp_path))) == 2


def test_resume_alone_picks_a_chat_from_a_list(
    server: StandinServer, tmp_path: Path, children
) -> None:
    quick(server, "-q", "about lemurs")
    quick(server, "-q", "about tapirs")
    command = vllm_chat("--url", server.url, "--no-history", "-r")
    child = spawn_pty(command, rows=ROWS, columns=COLUMNS)
    children.append(child)
    term = Terminal(child)
    term.wait_text("about lemurs")
    term.wait_text("about tapirs")
    child.send("lemurs")
    term.wait(lambda: "about tapirs" not in term.seen_text().split("lemurs", 1)[1], "the filter")
    child.send("\r")
    term.wait_prompt()
    assert re.search(r"continuing chat [0-9a-f]{12} · about lemurs · 1 turn", term.seen_text())
    type_line(child, term, "again", "You said: again")
    assert server.requests[-1]["messages"] == [*sent("about lemurs"), asked("again")]
    quit_session(term)


def test_ctrl_c_keeps_the_partial_answer_in_the_store(
    server: StandinServer, tmp_path: Path, children
) -> None:
    server.push(Reply(content=SLOW, chunk_chars=4, delay=0.05))
    term = session(server)
    children.append(term.child)
    term.child.send("go\r")
    term.wait_text("lorem ipsum lorem")
    term.child.sendintr()
    term.wait_text("[interrupted]")
    term.wait_prompt()
    # Stored when the turn ended, while the session goes on.
    _, messages = only_chat(db_path(tmp_path))
    assert messages[0] == ("user", "go")
    assert messages[1][1].startswith("lorem ipsum lorem") and len(messages[1][1]) < len(SLOW)
    assert query(db_path(tmp_path), "SELECT partial, json_extract(stats, '$.interrupted')"
                 " FROM messages WHERE seq = 1") == [(1, 1)]  # fmt: skip
    quit_session(term)


def test_kill_9_mid_answer_loses_no_earlier_turn(
    server: StandinServer, tmp_path: Path, children
) -> None:
    term = session(server)
    children.append(term.child)
    type_line(term.child, term, "first", "You said: first")
    server.push(Reply(content=SLOW, chunk_chars=4, delay=0.05))
    term.child.send("streaming\r")
    term.wait_text("lorem ipsum lorem")
    os.kill(term.child.pid, signal.SIGKILL)
    term.child.expect(pexpect.EOF)
    term.child.close()
    assert term.child.signalstatus == signal.SIGKILL

    path = db_path(tmp_path)
    assert query(path, "PRAGMA integrity_check") == [("ok",)]
    assert quick(server, "-c", "-q", "next") == b"You said: next\n"
    messages = server.requests[-1]["messages"]
    assert messages[:2] == sent("first")
    assert messages[-1] == asked("next")
    assert len(messages) in (3, 5)  # the streaming turn may be lost, the first never
    assert query(path, "PRAGMA integrity_check") == [("ok",)]


# ---- two writers at once -----------------------------------------------------------------


def test_parallel_quick_runs_on_a_new_store_all_keep_their_turns(
    server: StandinServer, tmp_path: Path
) -> None:
    texts = [f"parallel {i}" for i in range(6)]
    for _ in range(2):  # the first round makes the store, the second writes to it
        runs = [popen(server, "-q", text) for text in texts]
        for process, text in zip(runs, texts, strict=True):
            code, out, err = finished(process)
            assert (code, out, err) == (0, f"You said: {text}\n".encode(), b"")
    stored = stored_chats(db_path(tmp_path))
    assert len(stored) == 12
    assert sorted(messages[0][1] for messages in stored.values()) == sorted(texts * 2)
    assert all(messages == turn(messages[0][1]) for messages in stored.values())
    assert query(db_path(tmp_path), "PRAGMA integrity_check") == [("ok",)]


def test_parallel_continues_of_one_chat_lose_nothing(server: StandinServer, tmp_path: Path) -> None:
    quick(server, "-q", "shared start")
    texts = [f"branch {i}" for i in range(4)]
    runs = [popen(server, "-c", "-q", text) for text in texts]
    warnings = []
    for process, text in zip(runs, texts, strict=True):
        code, out, err = finished(process)
        assert (code, out) == (0, f"You said: {text}\n".encode()), err
        warnings += err.decode().splitlines()
    stored = stored_chats(db_path(tmp_path))
    # A run that found the chat changed when it came to store its turn goes on in a copy
    # (and says so); one that did not adds to the chat. Every turn is stored either way.
    assert all("was changed by another vllm-chat; this one goes on as chat" in w for w in warnings)
    assert len(stored) == 1 + len(warnings)
    for messages in stored.values():
        assert messages[:2] == turn("shared start")
        assert len(messages) % 2 == 0
    for text in texts:
        assert any(
            m[i : i + 2] == turn(text) for m in stored.values() for i in range(0, len(m), 2)
        ), (text, stored)
    assert query(db_path(tmp_path), "PRAGMA integrity_check") == [("ok",)]


def test_a_repl_and_quick_runs_write_at_once(
    server: StandinServer, tmp_path: Path, children
) -> None:
    term = session(server)
    children.append(term.child)
    type_line(term.child, term, "repl one", "You said: repl one")
    server.push(Reply(content="lorem ipsum " * 15, chunk_chars=4, delay=0.03))
    term.child.send("repl two\r")
    term.wait_text("lorem ipsum lorem")  # the REPL took the slow answer; the runs get theirs
    runs = [popen(server, "-q", f"quick {i}") for i in range(3)]
    for process in runs:
        assert finished(process)[0] == 0
    term.wait_prompt()
    quit_session(term)
    stored = stored_chats(db_path(tmp_path))
    assert len(stored) == 4
    repl = [m for m in stored.values() if m[0] == ("user", "repl one")]
    assert len(repl) == 1 and repl[0][:2] == turn("repl one")
    assert repl[0][2:] == [("user", "repl two"), ("assistant", "lorem ipsum " * 15)]
    assert sorted(m for m in stored.values() if m[0][1].startswith("quick")) == [
        turn(f"quick {i}") for i in range(3)
    ]


def test_a_repl_goes_on_in_a_copy_when_another_run_wrote_its_chat(
    server: StandinServer, tmp_path: Path, children
) -> None:
    quick(server, "-q", "start")
    original, _ = only_chat(db_path(tmp_path))
    term = session(server, "-c")
    children.append(term.child)
    quick(server, "-c", "-q", "from a pipe")
    shown = type_line(term.child, term, "from the repl", "You said: from the repl")
    assert re.search(rf"chat {original} was changed by another vllm-chat; this one goes on\s+"
                     r"as chat [0-9a-f]{12}", shown), shown  # fmt: skip
    quit_session(term)
    stored = stored_chats(db_path(tmp_path))
    assert stored.pop(original) == [*turn("start"), *turn("from a pipe")]
    assert list(stored.values()) == [[*turn("start"), *turn("from the repl")]]


# ---- REPL commands -------------------------------------------------------------------------


def test_chats_lists_and_searches(server: StandinServer, tmp_path: Path, capsys) -> None:
    repl_session(server.url, "/chats\r" + CTRL_D)
    assert capsys.readouterr().out == "no chats are stored yet\n"
    quick(server, "-q", "a question about kangaroos")
    quick(server, "-q", "another about koalas")
    quick(server, "-c", "-q", "and wombats")
    stored = stored_chats(db_path(tmp_path))
    ids = {messages[0][1]: chat_id for chat_id, messages in stored.items()}

    repl_session(server.url, "/chats\r/chats wombats\r/chats platypus\r" + CTRL_D)
    out = capsys.readouterr().out
    listing, searched = out.split("\n", 2)[:2], out.split("\n", 2)[2]
    stamp = r"\d{4}-\d\d-\d\d \d\d:\d\d \(just now\)"
    assert re.fullmatch(
        rf"  {ids['another about koalas']}  {stamp}  standin-model · 2 turns  another about koalas",
        listing[0],
    ), out
    assert re.fullmatch(
        rf"  {ids['a question about kangaroos']}  {stamp}  standin-model · 1 turn  "
        "a question about kangaroos",
        listing[1],
    ), out
    assert searched.splitlines()[0].startswith(f"  {ids['another about koalas']}  ")
    assert "[wombats]" in searched.splitlines()[1]
    assert "kangaroos" not in searched
    assert "no stored chat holds 'platypus'" in searched


def test_chats_marks_the_current_chat(server: StandinServer, capsys) -> None:
    quick(server, "-q", "older one")
    journal = repl_session(server.url, "current one\r/chats\r" + CTRL_D)
    out = capsys.readouterr().out
    assert f"* {journal.chat_id}  " in out
    assert re.search(r"^  [0-9a-f]{12}  .*older one$", out, re.M)


def test_open_switches_to_a_stored_chat(server: StandinServer, tmp_path: Path, capsys) -> None:
    quick(server, "-q", "giraffes one")
    quick(server, "-c", "-q", "giraffes two")
    quick(server, "-c", "-q", "giraffes three")
    quick(server, "-c", "-q", "giraffes four")
    giraffes, _ = only_chat(db_path(tmp_path))
    journal = repl_session(server.url, f"unrelated\r/open {giraffes[:5]}\rgiraffes five\r" + CTRL_D)
    out = capsys.readouterr().out
    opened = out.split(f"chat {giraffes}: giraffes one (4 turns, model standin-model)\n", 1)[1]
    assert opened.startswith("── 2 · you ──\ngiraffes two\n")  # the last three exchanges
    assert "giraffes four" in opened and "giraffes one" not in opened.split("giraffes five")[0]
    assert server.requests[-1]["messages"] == [
        *sent("giraffes one"), *sent("giraffes two"), *sent("giraffes three"),
        *sent("giraffes four"), asked("giraffes five"),
    ]  # fmt: skip
    assert journal.chat_id == giraffes
    stored = stored_chats(db_path(tmp_path))
    assert len(stored[giraffes]) == 10
    assert [m for i, m in stored.items() if i != giraffes] == [turn("unrelated")]


def test_open_by_words_and_with_no_match(server: StandinServer, capsys) -> None:
    quick(server, "-q", "the okapi question")
    repl_session(server.url, "/open okapi\r/open nothing-like-it\r/open\r" + CTRL_D)
    captured = capsys.readouterr()
    assert re.search(r"^chat [0-9a-f]{12}: the okapi question \(1 turn", captured.out, re.M)
    assert "no stored chat matches 'nothing-like-it' (/chats lists them)" in captured.err
    assert "usage: /open ID|WORDS" in captured.err


def test_new_starts_a_chat_and_keeps_the_old(server: StandinServer, tmp_path: Path, capsys) -> None:
    journal = repl_session(server.url, "old one\rold two\r/new\rnew one\r" + CTRL_D)
    assert "a new chat: the next message starts it" in capsys.readouterr().out
    assert server.requests[-1]["messages"] == [asked("new one")]
    stored = stored_chats(db_path(tmp_path))
    assert stored.pop(str(journal.chat_id)) == turn("new one")
    assert list(stored.values()) == [[*turn("old one"), *turn("old two")]]


def test_rename_gives_the_chat_a_title(server: StandinServer, tmp_path: Path, capsys) -> None:
    journal = repl_session(
        server.url, "/rename too early\rhello\r/rename  My   Greetings \rmore\r/chats\r" + CTRL_D
    )
    captured = capsys.readouterr()
    assert "nothing is stored yet: send a message first" in captured.err
    assert f"chat {journal.chat_id} is now: My Greetings" in captured.out
    assert re.search(r"standin-model · 2 turns  My Greetings$", captured.out, re.M)
    assert query(db_path(tmp_path), "SELECT title FROM chats") == [("My Greetings",)]


def test_fork_copies_the_chat_and_the_original_stays(
    server: StandinServer, tmp_path: Path, capsys
) -> None:
    journal = repl_session(server.url, "one\rtwo\rthree\r/fork 1\rbranch\r/fork\rtwig\r" + CTRL_D)
    out = capsys.readouterr().out
    forks = re.findall(r"forked chat (\w+) into (\w+) \((\d+) turns?\); the original stays", out)
    assert [kept for _, _, kept in forks] == ["1", "2"]
    (original, first_copy, _), (from_copy, second_copy, _) = forks
    assert from_copy == first_copy and journal.chat_id == second_copy
    assert server.requests[-2]["messages"] == [*sent("one"), asked("branch")]
    stored = stored_chats(db_path(tmp_path))
    assert stored == {
        original: [*turn("one"), *turn("two"), *turn("three")],
        first_copy: [*turn("one"), *turn("branch")],
        second_copy: [*turn("one"), *turn("branch"), *turn("twig")],
    }


def test_fork_says_what_it_cannot_do(server: StandinServer, capsys) -> None:
    repl_session(server.url, "/fork\rone\r/fork 5\r/fork zero\r" + CTRL_D)
    err = capsys.readouterr().err
    assert "nothing to fork yet: send a message first" in err
    assert "the chat has 1 turn" in err
    assert "usage: /fork [N], N a turn number from 1" in err


def test_delete_asks_first(server: StandinServer, tmp_path: Path, capsys) -> None:
    quick(server, "-q", "doomed chat")
    doomed, _ = only_chat(db_path(tmp_path))
    journal = repl_session(
        server.url,
        f"current\r/delete {doomed}\r\r/delete {doomed}\rn\r/delete {doomed[:4]}\ryes\r"
        "/delete nosuchchat\r" + CTRL_D,
    )
    captured = capsys.readouterr()
    assert captured.out.count("nothing deleted") == 2
    assert f"deleted chat {doomed}\n" in captured.out
    assert "no stored chat matches 'nosuchchat'" in captured.err
    stored = stored_chats(db_path(tmp_path))
    assert list(stored) == [journal.chat_id]
    assert stored[str(journal.chat_id)] == turn("current")


def test_delete_of_the_current_chat_starts_a_new_one(
    server: StandinServer, tmp_path: Path, capsys
) -> None:
    quick(server, "-q", "another chat")
    journal = repl_session(server.url, "mine\r/delete\ry\rafresh\r" + CTRL_D)
    out = capsys.readouterr().out
    assert "the next message starts a new one" in out
    assert server.requests[-1]["messages"] == [asked("afresh")]
    assert sorted(stored_chats(db_path(tmp_path)).values()) == [
        turn("afresh"), turn("another chat"),
    ]  # fmt: skip
    assert journal.chat_id is not None


def test_reset_keeps_the_stored_turns(server: StandinServer, tmp_path: Path, capsys) -> None:
    repl_session(server.url, "one\rtwo\r/reset\rthree\r" + CTRL_D)
    assert "conversation cleared (2 turns forgotten)" in capsys.readouterr().out
    assert server.requests[-1]["messages"] == [asked("three")]
    assert sorted(stored_chats(db_path(tmp_path)).values()) == [
        [*turn("one"), *turn("two")], turn("three"),
    ]  # fmt: skip


def test_undo_takes_the_turn_out_of_the_store(
    server: StandinServer, tmp_path: Path, capsys
) -> None:
    repl_session(server.url, "one\rtwo\r/undo\r" + CTRL_D)
    assert only_chat(db_path(tmp_path))[1] == turn("one")
    repl_session(server.url, "three\rfour\r/undo\rfive\r" + CTRL_D)
    assert sorted(stored_chats(db_path(tmp_path)).values()) == [
        turn("one"), [*turn("three"), *turn("five")],
    ]  # fmt: skip


def test_history_of_the_last_turn(server: StandinServer, capsys) -> None:
    repl_session(server.url, "one\rtwo\rthree\r/history 1\r/history 0\r" + CTRL_D)
    captured = capsys.readouterr()
    shown = captured.out.split("You said: three\n", 1)[1]
    assert shown == "── 3 · you ──\nthree\n── 3 · standin-model ──\nYou said: three\n"
    assert "usage: /history [N], N a number of turns from 1" in captured.err


def test_store_commands_in_a_private_run(server: StandinServer, tmp_path: Path, capsys) -> None:
    repl_session(
        server.url,
        "hush\r/chats\r/new\r/rename x\r/fork\r/delete x\r/open x\r" + CTRL_D,
        private=True,
    )
    err = capsys.readouterr().err
    assert err.count("this run keeps no chats (--private)") == 6
    assert not db_path(tmp_path).parent.exists()


# ---- faults ----------------------------------------------------------------------------------


def one_warning_and_the_answer(result: subprocess.CompletedProcess[bytes], says: str) -> str:
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"You said: hello\n"
    lines = result.stderr.decode().splitlines()
    assert len(lines) == 1, lines
    assert says in lines[0]
    assert "Traceback" not in lines[0]
    return lines[0]


def test_a_file_that_is_no_chat_store_is_left_alone(server: StandinServer, tmp_path: Path) -> None:
    path = db_path(tmp_path)
    path.parent.mkdir(parents=True)
    garbage = b"\x00\xff not sqlite \x1b[2J" * 300
    path.write_bytes(garbage)
    line = one_warning_and_the_answer(
        run_cli("--url", server.url, "-q", "hello"), "is not a chat store"
    )
    assert str(path) in line and line.endswith("this chat is kept in memory only, for now")
    assert path.read_bytes() == garbage
    assert sorted(p.name for p in path.parent.iterdir()) == ["chats.db"]


def test_continue_on_a_file_that_is_no_chat_store(server: StandinServer, tmp_path: Path) -> None:
    path = db_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"garbage " * 500)
    result = run_cli("--url", server.url, "-c", "-q", "hello")
    assert result.returncode == 0 and result.stdout == b"You said: hello\n"
    assert b"is not a chat store" in result.stderr
    assert server.requests[-1]["messages"] == [asked("hello")]
    assert path.read_bytes() == b"garbage " * 500


def test_a_store_of_a_newer_version_is_left_alone(server: StandinServer, tmp_path: Path) -> None:
    path = db_path(tmp_path)
    path.parent.mkdir(parents=True)
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE future (x)")
    db.execute("PRAGMA user_version = 99")
    db.close()
    before = digest(path)
    one_warning_and_the_answer(
        run_cli("--url", server.url, "-q", "hello"), "made by a newer vllm-chat"
    )
    assert digest(path) == before
    assert query(path, "PRAGMA user_version") == [(99,)]


def test_a_locked_store_waits_then_goes_on(server: StandinServer, tmp_path: Path) -> None:
    quick(server, "-q", "before")
    path = db_path(tmp_path)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        line = one_warning_and_the_answer(
            run_cli("--url", server.url, "-q", "hello"), "is locked by another process"
        )
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert line.endswith("this chat is kept in memory only, for now")
    quick(server, "-q", "after")
    assert sorted(stored_chats(path).values()) == [turn("after"), turn("before")]


@dataclass
class Stranger:
    """A user whom file modes bind (nobody, when tests run as root), and a home of theirs."""

    prefix: list[str]
    home: Path
    env: dict[str, str]

    def run(self, *args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            argv([*self.prefix, *vllm_chat(*args)]),
            stdin=subprocess.DEVNULL, capture_output=True, env=self.env, cwd=ROOT, timeout=30,
        )  # fmt: skip


@pytest.fixture
def stranger() -> Iterator[Stranger]:
    prefix, uid, gid = unprivileged_or_skip()
    home = Path(tempfile.mkdtemp(prefix="vllm-chat-store-"))  # pytest's is private to root
    env = {**os.environ, "HOME": str(home), "XDG_DATA_HOME": str(home / "data"),
           "XDG_CONFIG_HOME": str(home / "config")}  # fmt: skip
    for folder in (home, home / "data"):
        folder.mkdir(exist_ok=True)
        os.chown(folder, uid, gid)
        folder.chmod(0o700)
    try:
        yield Stranger(prefix, home, env)
    finally:
        shutil.rmtree(home)


def test_a_read_only_store_is_read_but_not_written(
    server: StandinServer, stranger: Stranger
) -> None:
    first = stranger.run("--url", server.url, "-q", "stored before")
    assert first.returncode == 0 and first.stderr == b"", first.stderr
    path = stranger.home / "data" / "vllm-chat" / "chats.db"
    path.chmod(0o444)
    before = digest(path)
    result = stranger.run("--url", server.url, "-c", "-q", "hello")
    line = one_warning_and_the_answer(result, "is read-only")
    assert str(path) in line
    assert server.requests[-1]["messages"] == [*sent("stored before"), asked("hello")]
    assert digest(path) == before
    assert only_chat(path)[1] == turn("stored before")


def test_a_relative_xdg_data_home_falls_back_to_home(server: StandinServer, tmp_path: Path) -> None:
    home, work = tmp_path / "home", tmp_path / "work"
    work.mkdir()
    env = {**os.environ, "XDG_DATA_HOME": "rel/dir", "HOME": str(home)}
    result = subprocess.run(
        argv(vllm_chat("--url", server.url, "-q", "hello")),
        stdin=subprocess.DEVNULL, capture_output=True, env=env, cwd=work, timeout=30,
    )  # fmt: skip
    assert result.returncode == 0 and result.stderr == b"", result.stderr
    assert list(work.iterdir()) == []  # nothing made under the working folder
    path = home / ".local" / "share" / "vllm-chat" / "chats.db"
    assert only_chat(path)[1] == turn("hello")
    assert not db_path(tmp_path).exists()


def test_tab_completes_stored_chat_ids_after_open_and_delete(server: StandinServer) -> None:
    from prompt_toolkit.completion import CompleteEvent
    from prompt_toolkit.document import Document

    from vllm_chat.repl.prompt import SlashCompleter

    quick(server, "-q", "one")
    quick(server, "-q", "two")
    settings = Settings(url=server.url)
    chat = make_chat(settings)
    journal = keep_in_store(chat, settings)
    ids = journal.recent_ids()
    assert len(ids) == 2
    for typed in ("/open ", "/delete "):
        found = SlashCompleter(chat).get_completions(Document(typed), CompleteEvent())
        assert sorted(c.text for c in found) == sorted(ids)
    found = SlashCompleter(chat).get_completions(Document("/open " + ids[0][:4]), CompleteEvent())
    assert ids[0] in [c.text for c in found]

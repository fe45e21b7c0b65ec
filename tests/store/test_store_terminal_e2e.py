"""The chat store in a terminal, and two writers at once."""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path

import pexpect

from tests.processes import spawn_pty, vllm_chat
from tests.repl.test_commands_e2e import toolbar, type_line
from tests.standin import Reply, StandinServer
from tests.store.storage import (
    SLOW,
    asked,
    db_path,
    finished,
    only_chat,
    popen,
    query,
    quick,
    quit_session,
    sent,
    session,
    stored_chats,
    turn,
)
from tests.test_e2e import COLUMNS, ROWS, Terminal

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

"""The chat store's REPL commands, typed into a real Repl through pipe input."""

from __future__ import annotations

import re
from pathlib import Path

from tests.standin import StandinServer
from tests.store.storage import (
    CTRL_D,
    asked,
    db_path,
    only_chat,
    query,
    quick,
    repl_session,
    sent,
    stored_chats,
    turn,
)

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

"""The chat store through the command: -q, -c, -r and private runs, with piped streams (run
in this process, `tests.inprocess`), and the REPL's toolbar in a pseudo-terminal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.inprocess import run_main
from tests.repl.test_commands_e2e import toolbar, type_line
from tests.standin import Reply, StandinServer
from tests.store.storage import (
    PRIVATE_WAYS,
    asked,
    db_path,
    digest,
    make_private,
    only_chat,
    query,
    quick,
    quit_session,
    sent,
    session,
    stored_chats,
    turn,
)

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
    cut = run_main("--url", server.url, "-q", "cut short")
    assert cut.returncode == 1 and cut.stdout == b"abcdefgh\n"
    server.push(Reply(status=500))
    failed = run_main("--url", server.url, "-c", "-q", "refused")
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
    result = run_main("--url", other.url, "-c", "-q", "two")
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"You said: two\n"
    [line] = result.stderr.decode().splitlines()
    assert "model standin-model-large of chat" in line
    assert line.endswith("going on with another-model")
    assert other.requests[-1]["model"] == "another-model"
    assert other.requests[-1]["messages"] == [*sent("one"), asked("two")]


def test_resume_without_a_match_is_a_usage_error(server: StandinServer, tmp_path: Path) -> None:
    quick(server, "-q", "something")
    result = run_main("--url", server.url, "-r", "nomatch", "-q", "x")
    assert result.returncode == 2
    assert result.stderr == b"error: no stored chat matches 'nomatch'\n"
    assert result.stdout == b""
    assert len(server.requests) == 1  # nothing was sent
    assert len(stored_chats(db_path(tmp_path))) == 1


def test_continue_with_nothing_stored_starts_a_new_chat(
    server: StandinServer, tmp_path: Path
) -> None:
    result = run_main("--url", server.url, "-c", "-q", "hello")
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
    result = run_main("--url", server.url, *flags, "-q", "x")
    assert result.returncode == 2
    assert f"error: {named} each choose the chat to go on with: give one" in result.stderr.decode()
    assert result.stdout == b""
    assert server.requests == []
    assert not db_path(tmp_path).exists()


def test_resume_without_a_query_cannot_pick_with_quick(server: StandinServer) -> None:
    quick(server, "-q", "something")
    result = run_main("--url", server.url, "-r", "-q", "x")
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
    result = run_main("--url", server.url, "--private", "-c", "-q", "hello")
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

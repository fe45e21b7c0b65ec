"""A store that cannot be used: one line, the chat goes on, the file untouched."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.processes import argv, unprivileged_or_skip, vllm_chat
from tests.standin import StandinServer
from tests.store.storage import (
    asked,
    db_path,
    digest,
    only_chat,
    query,
    quick,
    sent,
    stored_chats,
    turn,
)
from tests.test_cli import ROOT, run_cli
from vllm_chat.app import make_chat
from vllm_chat.config.settings import Settings
from vllm_chat.store.resume import keep_in_store

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

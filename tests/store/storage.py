"""Helpers of the chat store's end-to-end tests: the store's rows, runs of the command."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from tests.inprocess import run_main
from tests.processes import argv, spawn_pty, vllm_chat
from tests.standin import StandinServer
from tests.test_cli import ROOT
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
    """`vllm-chat --url URL ARGS` (in this process) that must succeed and say nothing on
    stderr; its stdout. What the store keeps of a run does not depend on the process."""
    result = run_main("--url", server.url, *args, env=env)
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

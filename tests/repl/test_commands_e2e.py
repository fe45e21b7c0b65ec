"""`/save`, `/load`, `/reset` and attachments, and the demo, as a person at a terminal sees them.

Each test runs the real `vllm-chat` (or `make demo`'s command) in a pseudo-terminal read
through the `pyte` emulator of test_e2e, or in a pipe, against the stand-in on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import re
import stat
import sys
from pathlib import Path

import pexpect

from tests.processes import spawn_pty
from tests.standin import DEMO_LINKS, DEMO_TABLE, DEMO_WELCOME, StandinServer, demo_reply
from tests.test_cli import run_cli
from tests.test_e2e import COLUMNS, ROOT, ROWS, Terminal
from vllm_chat.chat.conversation import Conversation, Message
from vllm_chat.store.saved import SavedChat, save

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR tiny image bytes"


def spawn_in(
    folder: Path, *args: str, program: tuple[str, ...] = ("-m", "vllm_chat")
) -> tuple[pexpect.spawn, Terminal]:
    """`python PROGRAM ARGS` in a pseudo-terminal, started in `folder`."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, *program, *args]
    child = spawn_pty(command, rows=ROWS, columns=COLUMNS, env=env, cwd=folder)
    return child, Terminal(child)


def type_line(child: pexpect.spawn, term: Terminal, line: str, shows: str) -> str:
    """Type `line` and Enter; wait for `shows` after it and the next prompt; return what came."""
    echoed = f"> {line}"
    before = term.seen_text().count(echoed)

    def answered() -> bool:
        text = term.seen_text()
        return text.count(echoed) > before and shows in text.rsplit(echoed, 1)[1]

    child.send(line + "\r")
    term.wait(answered, f"{shows!r} after {line!r}")
    term.wait_prompt()
    return term.seen_text().rsplit(echoed, 1)[1]


def answer(child: pexpect.spawn, term: Terminal, key: str, shows: str) -> str:
    """Answer a question with `key` and Enter; wait for `shows` anew and the next prompt."""
    before = term.seen_text().count(shows)
    child.send(key + "\r")
    term.wait(lambda: term.seen_text().count(shows) > before, repr(shows))
    term.wait_prompt()
    return term.seen_text().rsplit("replace it? [y/N]", 1)[1]


def flat(text: str) -> str:
    """`text` without whitespace: a long line the terminal wrapped reads as one."""
    return re.sub(r"\s+", "", text)


def toolbar(term: Terminal) -> str:
    """The bottom toolbar of the prompt on screen (erased when a line is sent, drawn anew)."""
    term.wait(lambda: term.display[-1].strip() != "", "the toolbar")
    return term.display[-1].strip()


def quit_session(child: pexpect.spawn, term: Terminal) -> None:
    child.send("\x04")
    assert term.wait_exit() == 0


def write_chat(path: Path, question: str) -> None:
    conversation = Conversation(None, [Message("user", question), Message("assistant", "ok")])
    save(SavedChat("standin-model", conversation), path)


def chats_dir(tmp_path: Path) -> Path:
    """Where conftest's XDG_DATA_HOME puts saved chats."""
    return tmp_path / "xdg-data" / "vllm-chat" / "chats"


def saved_questions(path: Path) -> list[str]:
    messages = json.loads(path.read_text())["messages"]
    return [m["content"] for m in messages if m["role"] == "user"]


# ---- /load ---------------------------------------------------------------------------------


def test_load_reads_a_file_in_the_working_folder_first_then_the_chats_folder(
    server: StandinServer, tmp_path: Path, children
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    write_chat(work / "foreign.json", "from the working folder")
    chats_dir(tmp_path).mkdir(parents=True)
    write_chat(chats_dir(tmp_path) / "foreign.json", "from the chats folder")
    write_chat(chats_dir(tmp_path) / "other.json", "only in the chats folder")
    child, term = spawn_in(work, "--url", server.url, "--no-history")
    children.append(child)
    term.wait_prompt()

    shown = type_line(child, term, "/load foreign.json", "loaded")
    assert flat(f"loaded 1 turn from {work / 'foreign.json'}") in flat(shown)
    type_line(child, term, "first", "You said: first")
    assert server.requests[-1]["messages"][0]["content"] == "from the working folder"

    shown = type_line(child, term, "/load other", "loaded")
    assert flat(f"loaded 1 turn from {chats_dir(tmp_path) / 'other.json'}") in flat(shown)
    type_line(child, term, "second", "You said: second")
    assert server.requests[-1]["messages"][0]["content"] == "only in the chats folder"

    shown = type_line(child, term, "/load nowhere", "nowhere")
    assert "no saved chat nowhere" in shown and flat(str(chats_dir(tmp_path))) in flat(shown)
    quit_session(child, term)


# ---- /save ---------------------------------------------------------------------------------


def test_save_asks_before_replacing_and_never_creates_folders(
    server: StandinServer, tmp_path: Path, children
) -> None:
    child, term = spawn_in(tmp_path, "--url", server.url, "--no-history")
    children.append(child)
    term.wait_prompt()
    type_line(child, term, "one", "You said: one")
    target = tmp_path / "rel.json"

    shown = type_line(child, term, "/save ./rel.json", "saved")
    assert flat(f"saved 1 turn to {target}") in flat(shown)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600

    # Relative, so that the typed line fits the screen however long tmp_path is.
    shown = type_line(child, term, "/save missing/deeper/x.json", "cannot save")
    assert flat("the folder missing/deeper does not exist") in flat(shown)
    assert not (tmp_path / "missing").exists()

    type_line(child, term, "two", "You said: two")
    child.send("/save ./rel.json\r")
    term.wait_text("rel.json exists; replace it? [y/N]")
    shown = answer(child, term, "n", "not saved")
    assert "/save! ./rel.json replaces it without asking" in shown
    assert saved_questions(target) == ["one"]

    child.send("/save ./rel.json\r")
    term.wait(lambda: term.seen_text().count("replace it? [y/N]") == 2, "the second question")
    shown = answer(child, term, "y", "saved 2 turns")
    assert flat(f"saved 2 turns to {target}") in flat(shown)
    assert saved_questions(target) == ["one", "two"]

    type_line(child, term, "three", "You said: three")
    shown = type_line(child, term, "/save! ./rel.json", "saved")
    assert flat(f"saved 3 turns to {target}") in flat(shown)
    assert term.seen_text().count("replace it? [y/N]") == 2  # /save! did not ask
    assert saved_questions(target) == ["one", "two", "three"]
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []

    shown = type_line(child, term, "/save", "saved")  # a default name: new, so no question
    assert flat(f"saved 3 turns to {chats_dir(tmp_path)}") in flat(shown)
    assert term.seen_text().count("replace it? [y/N]") == 2
    quit_session(child, term)


# ---- attachments ---------------------------------------------------------------------------


def test_attachments_are_listed_kept_once_detached_and_dropped_by_reset(
    server: StandinServer, tmp_path: Path, children
) -> None:
    (tmp_path / "notes.txt").write_text("secret notes\n")
    (tmp_path / "tiny.png").write_bytes(PNG)
    child, term = spawn_in(tmp_path, "--url", server.url, "--no-history")
    children.append(child)
    term.wait_prompt()

    assert "attached notes.txt (13 bytes)" in type_line(child, term, "/file notes.txt", "attached")
    shown = type_line(child, term, "/file ./notes.txt", "already")
    assert "notes.txt is already attached; kept one copy" in shown
    type_line(child, term, "/image tiny.png", "attached image tiny.png")
    assert toolbar(term).endswith("attached: notes.txt, tiny.png")

    shown = type_line(child, term, "/attachments", "for the next message")
    assert "2 attachments for the next message:" in shown
    assert "1  file   notes.txt  13 bytes" in shown
    assert f"2  image  tiny.png   {len(PNG)} bytes" in shown

    assert "detached tiny.png (1 attachment left)" in type_line(child, term, "/detach 2", "left")
    assert "/detach 1, or /detach alone" in type_line(child, term, "/detach 5", "/detach 1")

    shown = type_line(child, term, "/reset", "cleared")
    assert "conversation cleared (0 turns forgotten, 1 attachment dropped)" in shown
    assert "attached" not in toolbar(term)
    type_line(child, term, "hello", "You said: hello")
    assert server.requests[-1]["messages"] == [{"role": "user", "content": "hello"}]

    type_line(child, term, "/file notes.txt", "attached")
    assert "detached 1 attachment" in type_line(child, term, "/detach", "detached")
    assert "nothing is attached" in type_line(child, term, "/attachments", "nothing")
    type_line(child, term, "bye", "You said: bye")
    assert server.requests[-1]["messages"][-1] == {"role": "user", "content": "bye"}

    shown = type_line(child, term, "/help", "Commands:")
    assert "/attachments" in shown and "/detach [N]" in shown and "/save! PATH" in shown
    quit_session(child, term)


# ---- messages ------------------------------------------------------------------------------


def test_a_server_that_wants_a_key_says_how_to_give_one(server_factory) -> None:
    protected = server_factory(api_key="s3cret")
    result = run_cli("--url", protected.url, "-q", "hi")
    assert result.returncode == 1
    err = result.stderr.decode()
    assert len(err.splitlines()) == 1, err
    assert "the server wants an API key (401: Unauthorized)" in err
    assert "--api-key KEY or OPENAI_API_KEY" in err
    assert "rejected" not in err


# ---- the demo ------------------------------------------------------------------------------


def test_make_demo_welcomes_and_answers_like_a_model(children) -> None:
    program = ("-m", "tests.standin", "--run", sys.executable, "-m", "vllm_chat")
    child, term = spawn_in(ROOT, "--no-history", program=program)
    children.append(child)
    term.wait_prompt()
    assert 'Alt-Enter or """ for several lines · Ctrl-C stops an answer' in term.seen_text()

    shown = type_line(child, term, "hello", "Then point it at your own server")
    assert "Welcome to vllm-chat" in shown and "## Welcome" not in shown  # a heading
    assert "/help" in shown and "Ctrl-C" in shown and "Alt-Enter" in shown
    assert "You said" not in shown

    shown = type_line(child, term, "why is it fast?", "throughput comes from")
    lines = [line for line in shown.splitlines() if line.strip()]
    thinking = next(i for i, line in enumerate(lines) if line.startswith("Thinking"))
    reasoning = next(i for i, line in enumerate(lines) if "The user asks" in line)
    heading = next(i for i, line in enumerate(lines) if "Why vLLM serves so many" in line)
    assert thinking < reasoning < heading
    quit_session(child, term)


def test_the_demo_picks_answers_by_keyword_and_rotates_the_rest() -> None:
    assert demo_reply("show me a table", 1).content == DEMO_TABLE
    assert demo_reply("any LINKS?", 3).content == DEMO_LINKS
    assert demo_reply("anything", 1).content == DEMO_WELCOME  # the first message
    later = {demo_reply("anything", turn).content for turn in range(2, 7)}
    assert len(later) == 5 and DEMO_WELCOME not in later
    thought = demo_reply("think about a table", 2)
    assert thought.reasoning.startswith("The user asks: “think about a table”")
    assert thought.content == DEMO_TABLE
    assert demo_reply("long 3", 1) is None  # the usual numbered lines
    paced = demo_reply("hello", 1)
    assert paced.chunk_chars == 4 and paced.delay > 0 and paced.first_token_delay > 0


def test_without_the_demo_flag_the_stand_in_still_echoes(server: StandinServer) -> None:
    result = run_cli("--url", server.url, "-q", "show me a table")
    assert result.stdout == b"You said: show me a table\n"

"""Power-user features that only a real terminal or the real command shows.

The spinner, Ctrl-X Ctrl-E, `--think` and `--load`, run as `vllm-chat` in a
pseudo-terminal (read through the `pyte` emulator of test_e2e) or a pipe.
"""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from tests.processes import argv, vllm_chat
from tests.standin import Reply, StandinServer
from tests.test_cli import run_cli
from tests.test_e2e import Terminal, spawn
from vllm_chat.chat.conversation import Conversation, Message
from vllm_chat.repl.spinner import FRAMES
from vllm_chat.store.saved import SavedChat, save


def spinner_shown(term: Terminal) -> bool:
    return any(frame in term.seen_text() for frame in FRAMES)


def test_spinner_shows_while_waiting_and_leaves_no_trace(server: StandinServer, children) -> None:
    server.push(Reply(content="Hello there", first_token_delay=1.5))
    child, term = spawn("--url", server.url, "--no-history")
    children.append(child)
    term.wait_prompt()
    child.send("hi\r")
    term.wait(lambda: spinner_shown(term) and " s" in term.seen_text(), "the spinner")
    term.wait_text("Hello there")
    term.wait_prompt()
    lines = term.seen_lines()
    assert not spinner_shown(term), lines
    assert lines[lines.index("> hi") + 1] == "Hello there"  # the answer took the spinner's line


def test_no_spinner_reaches_a_pipe(server: StandinServer) -> None:
    server.push(Reply(content="Hello there", first_token_delay=0.6))
    result = run_cli("--url", server.url, "-q", "hi")
    assert result.returncode == 0
    assert result.stdout == b"Hello there\n"
    assert result.stderr == b""


def test_ctrl_x_ctrl_e_edits_the_line_in_the_editor(
    server: StandinServer, tmp_path: Path, children, monkeypatch: pytest.MonkeyPatch
) -> None:
    editor = tmp_path / "editor.sh"
    editor.write_text('#!/bin/sh\nprintf "rewritten in the editor" > "$1"\n')
    editor.chmod(editor.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("VISUAL", str(editor))
    child, term = spawn("--url", server.url, "--no-history")
    children.append(child)
    term.wait_prompt()
    child.send("first draft")
    child.send("\x18\x05")  # Ctrl-X Ctrl-E: edit; what the editor saved comes back to the prompt
    term.wait(
        lambda: term.display[term.cursor.y].rstrip() == "> rewritten in the editor",
        "the edited line at the prompt",
    )
    assert server.requests == []  # nothing is sent before Enter
    child.send("\r")
    term.wait_text("You said: rewritten in the editor")
    assert server.requests[-1]["messages"][-1]["content"] == "rewritten in the editor"


@pytest.mark.parametrize(("mode", "visible"), [("show", True), ("hide", False)])
def test_think_flag_shows_or_hides_reasoning(
    server: StandinServer, children, mode: str, visible: bool
) -> None:
    server.push(Reply(content="The answer", reasoning="pondering deeply"))
    child, term = spawn("--url", server.url, "--think", mode, "-q", "hi")
    children.append(child)
    assert term.wait_exit() == 0
    text = term.seen_text()
    assert "The answer" in text
    assert ("pondering deeply" in text) is visible


def write_saved_chat(path: Path) -> None:
    conversation = Conversation(
        "Be brief.",
        [Message("user", "earlier question"), Message("assistant", "earlier answer")],
    )
    save(SavedChat("standin-model-large", conversation, {"top_k": 7}), path)


def test_load_flag_resumes_a_saved_chat(server: StandinServer, tmp_path: Path) -> None:
    saved = tmp_path / "chat.json"
    write_saved_chat(saved)
    result = run_cli("--url", server.url, "--load", str(saved), "-q", "and now?")
    assert result.returncode == 0, result.stderr
    body = server.requests[-1]
    assert body["model"] == "standin-model-large"
    assert body["top_k"] == 7
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "earlier question"},
        {"role": "assistant", "content": "earlier answer"},
        {"role": "user", "content": "and now?"},
    ]


def test_flags_of_this_run_beat_the_saved_chat(server: StandinServer, tmp_path: Path) -> None:
    saved = tmp_path / "chat.json"
    write_saved_chat(saved)
    args = ["--url", server.url, "--load", str(saved), "--model-name", "standin-model"]
    result = run_cli(*args, "--extra-body", '{"top_k": 3}', "-q", "x")
    assert result.returncode == 0, result.stderr
    assert server.requests[-1]["model"] == "standin-model"
    assert server.requests[-1]["top_k"] == 3


@pytest.mark.parametrize("named", [False, True], ids=["saved-model", "model-name-flag"])
def test_load_flag_refuses_a_model_the_server_lacks_with_exit_1(
    server: StandinServer, tmp_path: Path, named: bool
) -> None:
    # --load checks the model as /model and /load do (the flag's, when given).
    saved = tmp_path / "chat.json"
    conversation = Conversation(None, [Message("user", "q"), Message("assistant", "a")])
    save(SavedChat("standin-model" if named else "retired-model", conversation), saved)
    flag = ["--model-name", "retired-model"] if named else []
    result = run_cli("--url", server.url, "--load", str(saved), *flag, "-q", "x")
    assert result.returncode == 1
    assert result.stdout == b""
    assert result.stderr.decode() == (
        f"error: not loaded: model retired-model is not on {server.url}, "
        "which has: standin-model, standin-model-large\n"
    )
    assert server.requests == []


@pytest.mark.parametrize(
    "content", [b"not json", b'{"format": "something else"}', None], ids=["junk", "foreign", "none"]
)
def test_load_flag_with_a_bad_file_exits_2(
    server: StandinServer, tmp_path: Path, content: bytes | None
) -> None:
    path = tmp_path / "chat.json"
    if content is not None:
        path.write_bytes(content)
    result = run_cli("--url", server.url, "--load", str(path), "-q", "x")
    assert result.returncode == 2
    err = result.stderr.decode()
    assert len(err.strip().splitlines()) == 1 and str(path) in err, err
    assert server.requests == []


def test_load_flag_takes_a_path_relative_to_the_current_folder(
    server: StandinServer, tmp_path: Path
) -> None:
    write_saved_chat(tmp_path / "here.json")
    command = argv(vllm_chat("--url", server.url, "--load", "./here.json"))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    result = subprocess.run(
        [*command, "-q", "x"], cwd=tmp_path, capture_output=True, env=env, timeout=30
    )
    assert result.returncode == 0, result.stderr
    assert server.requests[-1]["messages"][1]["content"] == "earlier question"

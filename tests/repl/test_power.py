"""Power-user commands, driven through the REPL against the stand-in server.

Every test types keys into a real `Repl` over prompt_toolkit's pipe input, talks to
the stand-in on 127.0.0.1, and checks both what the user sees (stdout, stderr, a
rendered screen or the terminal the clipboard sequence goes to) and what the server
received (`server.requests`).
"""

from __future__ import annotations

import base64
import datetime
import io
import json
import re
import stat
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyte
import pytest
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from rich.console import Console

from tests.repl.test_repl import CTRL_D, completions, dead_port, drive, new_chat
from tests.standin import Reply, StandinServer, vllm_error
from vllm_chat import __version__
from vllm_chat.chat.conversation import Conversation
from vllm_chat.chat.session import Chat
from vllm_chat.client.api import Client
from vllm_chat.render.stream import MarkdownRenderer
from vllm_chat.repl.clipboard import code_blocks
from vllm_chat.repl.prompt import Repl
from vllm_chat.store import saved

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR tiny image bytes"


# ---- helpers ---------------------------------------------------------------------------


def run_repl(
    chat: Chat,
    keys: str,
    *,
    terminal: io.StringIO | None = None,
    history_file: Path | None = None,
) -> Repl:
    """Like `drive`, with a terminal for /copy; returns the Repl for its toolbar."""
    with create_pipe_input() as inp:
        inp.send_text(keys)
        repl = Repl(
            chat,
            history_file=history_file,
            input=inp,
            output=DummyOutput(),
            terminal=terminal,
        )
        assert repl.run() == 0
    return repl


def user(text: Any) -> dict[str, Any]:
    return {"role": "user", "content": text}


def assistant(text: str) -> dict[str, Any]:
    return {"role": "assistant", "content": text}


def said(text: str) -> dict[str, Any]:
    """The stand-in's default answer to `text`."""
    return assistant(f"You said: {text}")


def error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.strip()]


def markdown_chat(url: str, **kwargs: Any) -> tuple[Chat, io.StringIO]:
    """A chat whose answers go through the Markdown renderer to a fake terminal."""
    written = io.StringIO()

    def renderer() -> MarkdownRenderer:
        console = Console(file=written, force_terminal=True, width=80, height=40)
        return MarkdownRenderer(console=console)

    return Chat(Client(url), make_renderer=renderer, **kwargs), written


def screen(raw: str) -> str:
    """What a terminal shows after `raw` (live regions drawn and erased included)."""
    display = pyte.Screen(80, 300)
    # A tty turns "\n" into "\r\n" on the way out; the emulator needs it spelt out.
    pyte.Stream(display).feed(raw.replace("\n", "\r\n"))
    return "\n".join(line.rstrip() for line in display.display).strip("\n")


def chats_dir(tmp_path: Path) -> Path:
    """Where conftest's XDG_DATA_HOME puts saved chats."""
    return tmp_path / "xdg-data" / "vllm-chat" / "chats"


def write_editor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str) -> Path:
    script = tmp_path / "fake-editor"
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(0o755)
    monkeypatch.setenv("VISUAL", str(script))
    monkeypatch.delenv("EDITOR", raising=False)
    return script


def saved_document(messages: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    return {
        "format": "vllm-chat/chat",
        "version": 1,
        "model": "standin-model",
        "system_prompt": None,
        "sampling": {},
        "messages": messages,
        **fields,
    }


# ---- /retry ----------------------------------------------------------------------------


def test_retry_replaces_the_last_answer(server: StandinServer, capsys) -> None:
    server.push(Reply(content="first answer"), Reply(content="second answer"))
    run_repl(new_chat(server.url), "hello\r/retry\rnext\r" + CTRL_D)
    out = capsys.readouterr().out
    assert "first answer" in out and "second answer" in out
    assert [request["messages"] for request in server.requests] == [
        [user("hello")],
        [user("hello")],  # the retry: the old answer is gone, the message not doubled
        [user("hello"), assistant("second answer"), user("next")],
    ]


def test_retry_after_a_failed_turn_sends_the_failed_message(server: StandinServer, capsys) -> None:
    server.push(Reply(status=500, error_body=vllm_error("engine fell over", 500)))
    run_repl(new_chat(server.url), "one\r/retry\rtwo\r" + CTRL_D)
    captured = capsys.readouterr()
    assert len(error_lines(captured.err)) == 1
    assert "engine fell over" in captured.err
    assert "You said: one" in captured.out
    assert [request["messages"] for request in server.requests] == [
        [user("one")],
        [user("one")],
        [user("one"), said("one"), user("two")],
    ]


def test_retry_replaces_a_cut_off_partial_answer(server: StandinServer, capsys) -> None:
    server.push(
        Reply(content="abcdefghijklmnop", chunk_chars=4, cut_after=2),
        Reply(content="the whole answer"),
    )
    run_repl(new_chat(server.url), "one\r/retry\rtwo\r" + CTRL_D)
    captured = capsys.readouterr()
    assert "abcdefgh" in captured.out
    assert "ijkl" not in captured.out
    assert "connection was lost" in captured.err
    assert "the whole answer" in captured.out
    assert [request["messages"] for request in server.requests] == [
        [user("one")],
        [user("one")],  # the partial "abcdefgh" was replaced, not kept before the retry
        [user("one"), assistant("the whole answer"), user("two")],
    ]


def test_retry_with_nothing_sent_says_so(server: StandinServer, capsys) -> None:
    run_repl(new_chat(server.url), "/retry\r" + CTRL_D)
    captured = capsys.readouterr()
    assert error_lines(captured.err) == ["error: there is no message to send again"]
    assert server.requests == []


# ---- /undo -----------------------------------------------------------------------------


def test_undo_removes_the_last_exchange(server: StandinServer, capsys) -> None:
    run_repl(new_chat(server.url), "one\rtwo\r/undo\rthree\r" + CTRL_D)
    assert "removed the last exchange" in capsys.readouterr().out
    assert server.requests[-1]["messages"] == [user("one"), said("one"), user("three")]


def test_undo_with_nothing_to_undo(server: StandinServer, capsys) -> None:
    assert drive(new_chat(server.url), "/undo\r" + CTRL_D) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines() == ["nothing to undo"]
    assert captured.err == ""
    assert server.requests == []


# ---- /edit -----------------------------------------------------------------------------


def test_edit_replaces_the_last_message_and_sends_it(
    server: StandinServer, capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = tmp_path / "seen.txt"
    write_editor(tmp_path, monkeypatch, f"cp \"$1\" '{seen}'\nprintf 'edited text\\n' > \"$1\"\n")
    run_repl(new_chat(server.url), "one\rtwo\r/edit\rthree\r" + CTRL_D)
    assert seen.read_text() == "two"  # the editor was given the last message
    assert "You said: edited text" in capsys.readouterr().out
    assert [request["messages"] for request in server.requests[2:]] == [
        [user("one"), said("one"), user("edited text")],
        [user("one"), said("one"), user("edited text"), said("edited text"), user("three")],
    ]


def test_edit_with_a_failing_editor_sends_nothing(
    server: StandinServer, capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_editor(tmp_path, monkeypatch, "printf 'should not go' > \"$1\"\nexit 3\n")
    run_repl(new_chat(server.url), "one\r/edit\rtwo\r" + CTRL_D)
    captured = capsys.readouterr()
    errors = error_lines(captured.err)
    assert len(errors) == 1
    assert "exited with status 3" in errors[0]
    assert "should not go" not in captured.out
    assert [request["messages"] for request in server.requests] == [
        [user("one")],
        [user("one"), said("one"), user("two")],
    ]


def test_edit_with_nothing_sent_says_so(
    server: StandinServer, capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran = tmp_path / "ran"
    write_editor(tmp_path, monkeypatch, f"touch '{ran}'\n")
    run_repl(new_chat(server.url), "/edit\r" + CTRL_D)
    assert error_lines(capsys.readouterr().err) == ["error: there is no message to edit yet"]
    assert not ran.exists()
    assert server.requests == []


def test_edit_to_nothing_sends_nothing(
    server: StandinServer, capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_editor(tmp_path, monkeypatch, "printf '  \\n' > \"$1\"\n")
    run_repl(new_chat(server.url), "one\r/edit\r" + CTRL_D)
    assert "the edited message is empty; nothing sent" in capsys.readouterr().out
    assert len(server.requests) == 1


# ---- /history --------------------------------------------------------------------------


def test_history_shows_turns_messages_and_answers(server: StandinServer, capsys) -> None:
    server.push(
        Reply(content="first answer"),
        Reply(content="abcdefghijkl", chunk_chars=4, cut_after=1),
    )
    chat = new_chat(server.url, system_prompt="Be brief")
    run_repl(chat, "one\rtwo\r/history\r" + CTRL_D)
    out = capsys.readouterr().out
    history = out[out.index("── system ──") :]
    assert history == (
        "── system ──\nBe brief\n"
        "── 1 · you ──\none\n"
        "── 1 · standin-model ──\nfirst answer\n"
        "── 2 · you ──\ntwo\n"
        "── 2 · standin-model (partial) ──\nabcd\n"
    )
    assert len(server.requests) == 2  # /history asks the server nothing


def test_history_of_an_empty_conversation(server: StandinServer, capsys) -> None:
    run_repl(new_chat(server.url), "/history\r" + CTRL_D)
    assert capsys.readouterr().out == "the conversation is empty\n"


# ---- /save and /load -------------------------------------------------------------------


def test_save_with_no_name_writes_a_private_file_in_the_chats_folder(
    server: StandinServer, capsys, tmp_path: Path
) -> None:
    chat = new_chat(server.url, system_prompt="Be brief")
    run_repl(chat, "/set temperature 0.25\rhello\r/save\r" + CTRL_D)
    folder = chats_dir(tmp_path)
    files = list(folder.iterdir())  # hidden temporary files included
    assert len(files) == 1, files
    path = files[0]
    assert re.fullmatch(r"chat-\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d\.json", path.name)
    assert f"saved 1 turn to {path}" in capsys.readouterr().out
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    document = json.loads(path.read_text())
    assert document["model"] == "standin-model"
    assert document["system_prompt"] == "Be brief"
    assert document["sampling"] == {"temperature": 0.25}
    assert document["messages"] == [user("hello"), said("hello")]


def test_export_writes_the_chat_as_markdown(server: StandinServer, capsys, tmp_path: Path) -> None:
    chat = new_chat(server.url, system_prompt="Be brief")
    server.push(Reply(content="Here:\n\n```python\nprint( 'x' )\n```\n"))
    run_repl(chat, "show code\r/export notes.md\r/export -\r" + CTRL_D)
    path = chats_dir(tmp_path) / "notes.md"
    out = capsys.readouterr().out
    assert f"exported 1 turn as Markdown to {path}" in out
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert text.startswith("# show code\n\n*model standin-model · ")
    assert "## System\n\nBe brief\n" in text
    assert "## 1 · You\n\nshow code\n" in text
    # The answer exactly as it came, code and its spacing included.
    assert "## 1 · standin-model\n\nHere:\n\n```python\nprint( 'x' )\n```\n" in text
    assert "## 1 · You\n\nshow code" in out  # `/export -` shows the same on the screen


def test_saved_chat_loads_into_a_new_chat(server: StandinServer, capsys, tmp_path: Path) -> None:
    first = new_chat(server.url, system_prompt="Be brief")
    keys = "/model standin-model-large\r/set top_k 5\rhello\r/save mychat\r"
    run_repl(first, keys + "again\r/save mychat\ry\r" + CTRL_D)  # y: replace the first save
    path = chats_dir(tmp_path) / "mychat.json"
    assert sorted(p.name for p in path.parent.iterdir()) == ["mychat.json"]  # no temp files
    out = capsys.readouterr().out
    assert f"saved 1 turn to {path}" in out and f"saved 2 turns to {path}" in out

    second = new_chat(server.url)  # no system prompt, no sampling, default model
    run_repl(second, "/load mychat\rnext\r" + CTRL_D)
    assert f"loaded 2 turns from {path} · model standin-model-large" in capsys.readouterr().out
    request = server.requests[-1]
    assert request["model"] == "standin-model-large"
    assert request["top_k"] == 5
    assert request["messages"] == [
        {"role": "system", "content": "Be brief"},
        user("hello"),
        said("hello"),
        user("again"),
        said("again"),
        user("next"),
    ]


def test_save_to_an_explicit_path(server: StandinServer, capsys, tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    target = tmp_path / "elsewhere" / "keep.json"
    run_repl(new_chat(server.url), f"hello\r/save {target}\r" + CTRL_D)
    assert f"saved 1 turn to {target}" in capsys.readouterr().out
    assert json.loads(target.read_text())["messages"] == [user("hello"), said("hello")]
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


BAD_FILES = {
    "not-json": "{this is not json",
    "foreign-json": json.dumps({"hello": "world"}),
    "roles-not-alternating": json.dumps(saved_document([user("a"), user("b")])),
    "no-answer": json.dumps(saved_document([user("a")])),
    "missing": None,
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_loading_a_bad_file_changes_nothing(
    server: StandinServer, capsys, tmp_path: Path, case: str
) -> None:
    path = chats_dir(tmp_path) / "bad.json"
    if BAD_FILES[case] is not None:
        path.parent.mkdir(parents=True)
        path.write_text(BAD_FILES[case])
    chat = new_chat(server.url, system_prompt="Stay")
    run_repl(chat, "/set seed 7\rone\r/load bad\rtwo\r" + CTRL_D)
    captured = capsys.readouterr()
    errors = error_lines(captured.err)
    assert len(errors) == 1, errors
    assert str(path) in errors[0]
    assert "loaded" not in captured.out
    request = server.requests[-1]
    assert request["model"] == "standin-model"
    assert request["seed"] == 7
    assert request["messages"] == [
        {"role": "system", "content": "Stay"},
        user("one"),
        said("one"),
        user("two"),
    ]


def test_loading_a_chat_whose_model_the_server_lacks_changes_nothing(
    server: StandinServer, capsys, tmp_path: Path
) -> None:
    # /load goes through the same check as /model NAME: the server must list the model.
    path = chats_dir(tmp_path) / "old.json"
    path.parent.mkdir(parents=True)
    document = saved_document([user("a"), assistant("b")], model="retired-model")
    path.write_text(json.dumps(document))
    chat = new_chat(server.url, system_prompt="Stay")
    run_repl(chat, "one\r/load old\rtwo\r" + CTRL_D)
    captured = capsys.readouterr()
    assert error_lines(captured.err) == [
        f"error: not loaded: model retired-model is not on {server.url}, "
        "which has: standin-model, standin-model-large"
    ]
    assert "loaded" not in captured.out
    assert [request["model"] for request in server.requests] == ["standin-model"] * 2
    assert server.requests[-1]["messages"] == [
        {"role": "system", "content": "Stay"},
        user("one"),
        said("one"),
        user("two"),
    ]


def test_loading_while_the_server_is_down_takes_the_saved_model_as_it_is(
    capsys, tmp_path: Path
) -> None:
    path = chats_dir(tmp_path) / "old.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(saved_document([user("a"), assistant("b")], model="any-model")))
    chat = new_chat(f"http://127.0.0.1:{dead_port()}/v1")
    run_repl(chat, "/load old\r" + CTRL_D)
    assert f"loaded 1 turn from {path} · model any-model" in capsys.readouterr().out
    assert chat.model == "any-model"  # the next message tells whether the server has it


def test_load_without_a_name_says_how(server: StandinServer, capsys, tmp_path: Path) -> None:
    run_repl(new_chat(server.url), "/load\r" + CTRL_D)
    errors = error_lines(capsys.readouterr().err)
    assert len(errors) == 1
    assert "usage: /load PATH" in errors[0] and str(chats_dir(tmp_path)) in errors[0]


def test_loaded_sampling_cannot_replace_the_messages(server: StandinServer, tmp_path: Path) -> None:
    path = chats_dir(tmp_path) / "odd.json"
    path.parent.mkdir(parents=True)
    document = saved_document(
        [user("a"), assistant("b")], sampling={"messages": [user("injected")]}
    )
    path.write_text(json.dumps(document))
    run_repl(new_chat(server.url), "/load odd\rnext\r" + CTRL_D)
    # Refused (one error line) or the key ignored: either way "next" is what is sent.
    assert server.requests[-1]["messages"][-1] == user("next")


def test_two_quick_saves_keep_both(
    server: StandinServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Both saves in the same second, always (not only when the test happens to be fast).
    class SameSecond(datetime.datetime):
        @classmethod
        def now(cls, tz: Any = None) -> SameSecond:
            return cls(2025, 1, 2, 3, 4, 5, tzinfo=tz)

    monkeypatch.setattr(saved, "datetime", types.SimpleNamespace(datetime=SameSecond))
    run_repl(new_chat(server.url), "one\r/save\rtwo\r/save\r" + CTRL_D)
    files = sorted(chats_dir(tmp_path).glob("*.json"))
    assert len(files) == 2, [p.name for p in files]


# ---- /set, /unset ----------------------------------------------------------------------


def test_set_sends_numbers_strings_lists_and_objects(server: StandinServer, capsys) -> None:
    keys = (
        "/set temperature 0.2\r"
        "/set top_k 40\r"
        '/set stop ["END", "STOP"]\r'
        '/set chat_template_kwargs {"enable_thinking": false}\r'
        "/set my_extra some words\r"
        "hello\r"
    )
    run_repl(new_chat(server.url), keys + CTRL_D)
    out = capsys.readouterr().out.splitlines()
    assert "temperature = 0.2" in out
    assert "top_k = 40" in out
    assert 'stop = ["END", "STOP"]' in out
    assert 'chat_template_kwargs = {"enable_thinking": false}' in out
    assert 'my_extra = "some words" (not a parameter vllm-chat knows; sent anyway)' in out
    request = server.requests[0]
    assert request["temperature"] == 0.2
    assert request["top_k"] == 40 and isinstance(request["top_k"], int)
    assert request["stop"] == ["END", "STOP"]
    assert request["chat_template_kwargs"] == {"enable_thinking": False}
    assert request["my_extra"] == "some words"
    assert request["messages"] == [user("hello")]


def test_set_refuses_what_vllm_chat_sets_itself(server: StandinServer, capsys) -> None:
    run_repl(
        new_chat(server.url), "/set model x\r/set stream false\r/set temperature\rhi\r" + CTRL_D
    )
    errors = error_lines(capsys.readouterr().err)
    assert len(errors) == 3
    assert "model is set by vllm-chat itself" in errors[0]
    assert "stream is set by vllm-chat itself" in errors[1]
    assert "usage: /set NAME VALUE" in errors[2]
    request = server.requests[0]
    assert request["model"] == "standin-model"
    assert request["stream"] is True
    assert "temperature" not in request


def test_unset_stops_sending_a_parameter(server: StandinServer, capsys) -> None:
    run_repl(new_chat(server.url), "/set top_k 5\rone\r/unset top_k\rtwo\r/unset top_k\r" + CTRL_D)
    captured = capsys.readouterr()
    assert "top_k unset (the server's default applies)" in captured.out
    assert error_lines(captured.err) == ["error: top_k is not set; set: nothing"]
    assert server.requests[0]["top_k"] == 5
    assert "top_k" not in server.requests[1]


# ---- /settings -------------------------------------------------------------------------


def test_settings_show_everything_but_the_api_key(server_factory, capsys, tmp_path: Path) -> None:
    key = "sekrit-key-123"
    server = server_factory(api_key=key)  # answers only with the key: it is really in use
    client = Client(server.url, key, api_key_source="flag")
    chat = Chat(client, conversation=Conversation(system_prompt="Be brief"))
    history = tmp_path / "hist"
    run_repl(chat, "/set temperature 0.3\rhello\r/settings\r" + CTRL_D, history_file=history)
    captured = capsys.readouterr()
    assert "You said: hello" in captured.out  # the key worked
    rows = dict(
        re.split(r"\s{2,}", line.strip(), maxsplit=1)
        for line in captured.out.splitlines()
        if re.search(r"\S\s{2,}\S", line)
    )
    assert rows["url"] == server.url
    assert rows["model"] == "standin-model"
    assert rows["system prompt"] == "Be brief"
    assert rows["temperature"] == "0.3"
    assert rows["history"] == str(history)
    assert rows["api key"] == "set, from --api-key (hidden)"
    assert key not in captured.out and key not in captured.err
    assert server.headers[-1]["Authorization"] == f"Bearer {key}"


# ---- /stats ----------------------------------------------------------------------------


def test_stats_on_and_off(server: StandinServer, capsys) -> None:
    keys = "/stats on\rone\r/stats off\rtwo\r/stats\rthree\r"
    run_repl(new_chat(server.url), keys + CTRL_D)
    captured = capsys.readouterr()
    stats = [line for line in captured.err.splitlines() if "TTFT" in line]
    assert len(stats) == 2, captured.err  # after "one" and "three", not "two"
    for line in stats:
        # Four deltas at once: too quick for a decode rate to mean anything; none is shown.
        assert re.search(r"TTFT \d+ ms · [\d.]+ s · \d+ prompt \+ 4 completion tokens", line)
    out = captured.out.splitlines()
    assert out.count("stats on") == 2 and out.count("stats off") == 1
    assert any(line.startswith("last answer: TTFT") for line in out)  # /stats shows the last
    assert len(server.requests) == 3


# ---- /think and reasoning --------------------------------------------------------------

REASONING = "deep secret musings"
ANSWER = "The **answer** is here."


@pytest.mark.parametrize("mode", ["show", "hide", "collapse"])
def test_think_modes_show_the_reasoning_as_chosen(server: StandinServer, mode: str) -> None:
    server.push(Reply(reasoning=REASONING, content=ANSWER, chunk_chars=4))
    chat, written = markdown_chat(server.url)
    run_repl(chat, f"/think {mode}\rquestion\rnext\r" + CTRL_D)
    raw = written.getvalue()
    shown = screen(raw)
    assert "The answer is here." in shown
    if mode == "show":
        assert re.search(r"Thinking…\s*\n\s*deep secret musings\s*\n", shown), shown
        assert re.search(r"\x1b\[2;3mdeep secret musings", raw)  # dim italic
    elif mode == "hide":
        assert "Thinking" not in shown and "deep" not in raw and "musings" not in raw
    else:
        assert re.search(r"Thinking… thought for \d+\.\d s, 5 tokens", shown), shown
        assert "musings" not in shown
    # Reasoning is never sent back: the answer alone is the assistant's turn.
    assert server.requests[-1]["messages"] == [user("question"), assistant(ANSWER), user("next")]
    assert REASONING not in json.dumps(server.requests[-1])


def test_think_without_an_argument_shows_the_mode_and_a_bad_one_is_refused(
    server: StandinServer, capsys
) -> None:
    run_repl(new_chat(server.url), "/think\r/think fold\r/think\r" + CTRL_D)
    captured = capsys.readouterr()
    assert captured.out.splitlines() == ["think: show", "think: show"]
    assert error_lines(captured.err) == ["error: usage: /think show|hide|collapse"]


def test_think_tags_in_the_content_are_split_off(server: StandinServer) -> None:
    server.push(Reply(content="<think>pondering</think>The answer", chunk_chars=3))
    chat, written = markdown_chat(server.url)
    run_repl(chat, "question\rnext\r" + CTRL_D)
    raw = written.getvalue()
    shown = screen(raw)
    assert re.search(r"Thinking…\s*\n\s*pondering\s*\n", shown), shown
    assert re.search(r"\x1b\[2;3mpondering", raw)  # shown dimmed, as reasoning
    assert "The answer" in shown
    assert "think>" not in shown
    assert server.requests[-1]["messages"] == [
        user("question"),
        assistant("The answer"),
        user("next"),
    ]


NO_KWARGS = "null"  # the JSON of absent chat_template_kwargs, in Chat.think_templates keys


def test_a_template_that_opens_think_is_learned_from_the_servers_tokenize(
    server_factory,
) -> None:
    server = server_factory(template_opens_think={"standin-model"})
    server.push(
        Reply(content="pondering\n</think>\n\nThe answer", chunk_chars=3),
        Reply(content="more musing\n</think>\n\nSecond answer", chunk_chars=3),
        Reply(content="plain reply"),
    )
    chat, written = markdown_chat(server.url)
    run_repl(chat, "q1\rq2\r/model standin-model-large\rq3\rq4\r" + CTRL_D)
    raw = written.getvalue()
    shown = screen(raw)
    # Asked once per model, at the server's root, before the first answer.
    assert [(r["model"], r["messages"]) for r in server.tokenize_requests] == [
        ("standin-model", [user("q1")]),
        ("standin-model-large", [user("q3")]),
    ]
    for request in server.tokenize_requests:
        assert request["add_generation_prompt"] is True and request["return_token_strs"] is True
        assert "chat_template_kwargs" not in request
    assert chat.think_templates == {
        ("standin-model", NO_KWARGS): True,
        ("standin-model-large", NO_KWARGS): False,
    }
    assert "think>" not in shown
    # Both answers started without a tag: reasoning (dimmed) from their first word.
    assert re.search(r"Thinking…\s*\n\s*pondering\s*\n", shown), shown
    assert re.search(r"Thinking…\s*\n\s*more musing\s*\n", shown), shown
    assert re.search(r"\x1b\[2;3mpondering", raw) and re.search(r"\x1b\[2;3mmore musing", raw)
    assert "Second answer" in shown
    # Another model is not affected: its tag-less answer is an answer.
    assert re.search(r"^plain reply$", shown, re.M)
    assert server.requests[2]["messages"] == [
        user("q1"),
        assistant("The answer"),
        user("q2"),
        assistant("Second answer"),
        user("q3"),
    ]
    assert server.requests[3]["messages"][-2:] == [assistant("plain reply"), user("q4")]


def test_a_tag_mentioned_mid_line_is_just_text(server: StandinServer) -> None:
    server.push(Reply(content="Close the block with </think> here."))
    chat, written = markdown_chat(server.url)
    run_repl(chat, "q1\rq2\r" + CTRL_D)
    assert chat.think_templates == {("standin-model", NO_KWARGS): False}
    shown = screen(written.getvalue())
    assert "Close the block with" in shown and "here." in shown
    assert "Thinking" not in shown
    assert server.requests[1]["messages"][1] == assistant("Close the block with </think> here.")


CODE_ABOUT_TEMPLATES = (
    "The chat template opens the block; the model closes it on a line of its own:\n"
    "\n"
    "```text\n"
    "<|im_start|>assistant\n"
    "<think>\n"
    "reasoning goes here\n"
    "</think>\n"
    "\n"
    "the answer\n"
    "```\n"
    "\n"
    "That is the whole trick."
)
PROSE_AFTER_THE_START = "First the answer.\n</think>\nThen more of the answer, </think> and all."


@pytest.mark.parametrize("content", [CODE_ABOUT_TEMPLATES, PROSE_AFTER_THE_START])
@pytest.mark.parametrize("mode", ["show", "hide"])
def test_a_close_tag_at_a_line_start_after_the_answer_began_is_answer(
    server: StandinServer, content: str, mode: str
) -> None:
    server.push(Reply(content=content, chunk_chars=3), Reply(content="Next answer."))
    chat, written = markdown_chat(server.url)
    run_repl(chat, f"/think {mode}\rq1\rq2\rq3\r" + CTRL_D)
    raw = written.getvalue()
    shown = screen(raw)
    # Stored and sent back whole, to the character; nothing taken for thinking.
    assert server.requests[1]["messages"] == [user("q1"), assistant(content), user("q2")]
    assert server.requests[2]["messages"][-2:] == [assistant("Next answer."), user("q3")]
    assert chat.think_templates == {("standin-model", NO_KWARGS): False}
    assert len(server.tokenize_requests) == 1
    # The next answer is an answer, not drawn as thinking.
    assert "Thinking" not in shown and "\x1b[2;3m" not in raw
    assert re.search(r"^Next answer\.$", shown, re.M), shown
    assert "the answer" in shown or "Then more of the answer" in shown


def test_after_the_think_block_a_close_tag_in_code_is_answer(server_factory) -> None:
    server = server_factory(template_opens_think=True)
    answer = "Like this:\n\n```\n</think>\n```\n\nDone."
    server.push(
        Reply(content="musing\n</think>\n\n" + answer, chunk_chars=3),
        Reply(content="more\n</think>\n\nok"),
    )
    chat, written = markdown_chat(server.url)
    run_repl(chat, "q1\rq2\r" + CTRL_D)
    shown = screen(written.getvalue())
    assert re.search(r"Thinking…\s*\n\s*musing\s*\n", shown), shown
    assert "Done." in shown
    assert server.requests[1]["messages"][1] == assistant(answer)
    assert chat.think_templates == {("standin-model", NO_KWARGS): True}


def test_a_server_without_tokenize_is_asked_once_and_no_error_is_shown(
    server_factory, capsys
) -> None:
    server = server_factory(serves_tokenize=False)  # a 404, like llama.cpp's or OpenAI's
    server.push(Reply(content="thinking aloud\n</think>\n\nAnswer"), Reply(content="Two"))
    chat, written = markdown_chat(server.url)
    run_repl(chat, "q1\rq2\rq3\r" + CTRL_D)
    assert len(server.tokenize_requests) == 1
    assert chat.think_templates == {("standin-model", NO_KWARGS): False}
    assert error_lines(capsys.readouterr().err) == []
    assert "Thinking" not in screen(written.getvalue())
    assert server.requests[1]["messages"][1] == assistant("thinking aloud\n</think>\n\nAnswer")
    assert server.requests[2]["messages"][-2:] == [assistant("Two"), user("q3")]


def test_the_probe_sends_chat_template_kwargs_and_is_asked_again_when_they_change(
    server_factory,
) -> None:
    server = server_factory(template_opens_think=True)
    server.push(
        Reply(content="A quick answer"),  # enable_thinking false: the block comes closed
        Reply(content="weighing it\n</think>\n\nA considered answer"),
        Reply(content="more\n</think>\n\nok"),
    )
    chat, written = markdown_chat(server.url)
    keys = '/set chat_template_kwargs {"enable_thinking": false}\rq1\r'
    keys += "/unset chat_template_kwargs\rq2\rq3\r"
    run_repl(chat, keys + CTRL_D)
    kwargs = [request.get("chat_template_kwargs") for request in server.tokenize_requests]
    assert kwargs == [{"enable_thinking": False}, None]
    assert chat.think_templates == {
        ("standin-model", '{"enable_thinking": false}'): False,
        ("standin-model", NO_KWARGS): True,
    }
    shown = screen(written.getvalue())
    assert re.search(r"^A quick answer$", shown, re.M), shown
    assert re.search(r"Thinking…\s*\n\s*weighing it\s*\n", shown), shown
    assert server.requests[2]["messages"][1:] == [
        assistant("A quick answer"),
        user("q2"),
        assistant("A considered answer"),
        user("q3"),
    ]


def test_the_servers_own_reasoning_field_wins_over_the_template(server_factory) -> None:
    # Served with a reasoning parser: the think block comes in its own field and the
    # content is the answer alone, though the template opens <think>.
    server = server_factory(template_opens_think=True)
    server.push(Reply(reasoning="deep musing", content="The answer </think> itself"))
    chat, written = markdown_chat(server.url)
    run_repl(chat, "/think hide\rq1\rq2\r" + CTRL_D)
    shown = screen(written.getvalue())
    assert "The answer </think> itself" in shown and "musing" not in shown
    assert server.requests[1]["messages"][1] == assistant("The answer </think> itself")


def test_a_turn_that_got_no_answer_asks_the_server_again(server_factory, capsys) -> None:
    server = server_factory(template_opens_think=True)
    server.push(Reply(status=503), Reply(content="musing\n</think>\n\nThe answer"))
    chat, written = markdown_chat(server.url)
    run_repl(chat, "q1\r/retry\r" + CTRL_D)
    assert len(error_lines(capsys.readouterr().err)) == 1  # the 503, nothing about /tokenize
    assert len(server.tokenize_requests) == 2
    assert re.search(r"Thinking…\s*\n\s*musing\s*\n", screen(written.getvalue()))
    assert chat.conversation.request_messages()[-1] == assistant("The answer")


@pytest.mark.parametrize("mode", ["show", "hide", "collapse"])
def test_a_model_taken_for_think_opening_that_answers_plainly_is_unlearned(
    server_factory, mode: str
) -> None:
    # The server's template opens <think>; the next answer has no </think> at all: it
    # was the answer, stored as such and shown even when thinking is hidden or folded,
    # and the model's later answers start as answers.
    server = server_factory(template_opens_think=True)
    server.push(
        Reply(content="musing\n</think>\n\nFirst answer"),
        Reply(content="A plain answer"),
        Reply(content="Another plain answer"),
    )
    chat, written = markdown_chat(server.url)
    run_repl(chat, f"/think {mode}\rq1\rq2\rq3\rq4\r" + CTRL_D)
    assert chat.think_templates == {("standin-model", NO_KWARGS): False}
    assert len(server.tokenize_requests) == 1  # not asked again
    shown = screen(written.getvalue())
    assert "A plain answer" in shown
    assert re.search(r"^Another plain answer$", shown, re.M), shown
    assert server.requests[2]["messages"][-2:] == [assistant("A plain answer"), user("q3")]
    assert server.requests[3]["messages"][-2:] == [assistant("Another plain answer"), user("q4")]


# ---- /file -----------------------------------------------------------------------------


def test_file_is_attached_to_the_next_message_only(
    server: StandinServer, capsys, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("line one\nline two\n")
    run_repl(new_chat(server.url), f"/file {notes}\rsummarize\rnext\r" + CTRL_D)
    assert "attached notes.txt" in capsys.readouterr().out
    assert server.requests[0]["messages"] == [
        user("summarize\n\nnotes.txt:\n```\nline one\nline two\n```")
    ]
    assert server.requests[1]["messages"][-1] == user("next")  # sent once, then cleared


def test_file_with_fences_gets_a_longer_fence(server: StandinServer, tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("Run:\n\n```sh\nmake\n```\n")
    run_repl(new_chat(server.url), f"/file {readme}\rexplain\r" + CTRL_D)
    assert server.requests[0]["messages"][-1]["content"] == (
        "explain\n\nREADME.md:\n````\nRun:\n\n```sh\nmake\n```\n````"
    )


@pytest.mark.parametrize("kind", ["binary", "directory", "missing"])
def test_file_that_cannot_be_attached(
    server: StandinServer, capsys, tmp_path: Path, kind: str
) -> None:
    path = tmp_path / "thing.dat"
    if kind == "binary":
        path.write_bytes(b"\x7fELF\x02\x01\x00\x00binary")
    elif kind == "directory":
        path.mkdir()
    run_repl(new_chat(server.url), f"/file {path}\rhello\r" + CTRL_D)
    captured = capsys.readouterr()
    errors = error_lines(captured.err)
    assert len(errors) == 1
    assert str(path) in errors[0]
    assert "attached" not in captured.out
    assert server.requests[0]["messages"] == [user("hello")]


def test_file_sent_by_a_retry_is_not_attached_again(server: StandinServer, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("data")
    server.push(Reply(status=500))
    run_repl(new_chat(server.url), f"/file {notes}\rread\r/retry\rnext\r" + CTRL_D)
    with_file = "read\n\nnotes.txt:\n```\ndata\n```"
    assert server.requests[1]["messages"] == [user(with_file)]  # the retry carried it
    assert server.requests[2]["messages"][-1] == user("next")


# ---- /image ----------------------------------------------------------------------------


def test_image_file_goes_as_a_data_url(server: StandinServer, capsys, tmp_path: Path) -> None:
    image = tmp_path / "tiny.png"
    image.write_bytes(PNG)
    run_repl(new_chat(server.url), f"/image {image}\rdescribe\rnext\r" + CTRL_D)
    assert "attached image tiny.png" in capsys.readouterr().out
    url = "data:image/png;base64," + base64.b64encode(PNG).decode("ascii")
    assert server.requests[0]["messages"] == [
        user(
            [{"type": "text", "text": "describe"}, {"type": "image_url", "image_url": {"url": url}}]
        )
    ]
    assert server.requests[1]["messages"][-1] == user("next")


def test_image_url_is_passed_through(server: StandinServer) -> None:
    url = "http://127.0.0.1:9/cat.jpg"
    run_repl(new_chat(server.url), f"/image {url}\rlook\r" + CTRL_D)
    assert server.requests[0]["messages"][-1]["content"] == [
        {"type": "text", "text": "look"},
        {"type": "image_url", "image_url": {"url": url}},
    ]


def test_image_that_is_not_an_image(server: StandinServer, capsys, tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not a picture")
    run_repl(new_chat(server.url), f"/image {text}\rhello\r" + CTRL_D)
    errors = error_lines(capsys.readouterr().err)
    assert len(errors) == 1 and "not an image" in errors[0]
    assert server.requests[0]["messages"] == [user("hello")]


def test_edit_keeps_an_attached_image(
    server: StandinServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    image = tmp_path / "tiny.png"
    image.write_bytes(PNG)
    write_editor(tmp_path, monkeypatch, "printf 'what colour?' > \"$1\"\n")
    run_repl(new_chat(server.url), f"/image {image}\rdescribe\r/edit\r" + CTRL_D)
    first, edited = (request["messages"][-1]["content"] for request in server.requests)
    assert first[0] == {"type": "text", "text": "describe"}
    assert edited == [{"type": "text", "text": "what colour?"}, first[1]]


# ---- /copy -----------------------------------------------------------------------------

TWO_BLOCKS = (
    "Two ways:\n\n```python\nprint('one')\n```\n\nor\n\n```sh\necho two\nls -l\n```\n\nDone."
)


def osc52_of(text: str) -> str:
    return "\x1b]52;c;" + base64.b64encode(text.encode()).decode() + "\x07"


def test_copy_sends_osc52_to_the_terminal(server: StandinServer, capsys) -> None:
    server.push(Reply(content=TWO_BLOCKS))
    terminal = io.StringIO()
    run_repl(new_chat(server.url), "q\r/copy 2\r/copy\r/copy 3\r" + CTRL_D, terminal=terminal)
    assert terminal.getvalue() == osc52_of("echo two\nls -l") + osc52_of(TWO_BLOCKS)
    captured = capsys.readouterr()
    assert "copied code block 2 (2 lines, 14 characters)" in captured.out
    assert f"copied the last answer (14 lines, {len(TWO_BLOCKS)} characters)" in captured.out
    errors = error_lines(captured.err)
    assert len(errors) == 1 and "has 2 code blocks; /copy 1..2" in errors[0]
    assert "\x1b]52" not in captured.out  # only the terminal gets the sequence
    assert len(server.requests) == 1


def test_copy_without_a_terminal_says_so(server: StandinServer, capsys) -> None:
    run_repl(new_chat(server.url), "/copy\rq\r/copy\r" + CTRL_D, terminal=None)
    captured = capsys.readouterr()
    assert error_lines(captured.err) == [
        "error: there is no answer to copy yet",
        "error: /copy needs a terminal (it asks the terminal to set the clipboard)",
    ]
    assert "\x1b]52" not in captured.out


def test_copy_a_code_block_inside_a_numbered_list(server: StandinServer) -> None:
    answer = "Steps:\n\n1. Install:\n   ```sh\n   pip install x\n   ```\n2. Run it."
    server.push(Reply(content=answer))
    terminal = io.StringIO()
    run_repl(new_chat(server.url), "q\r/copy 1\r" + CTRL_D, terminal=terminal)
    assert terminal.getvalue() == osc52_of("pip install x")


# ---- Tab completion --------------------------------------------------------------------


def test_completion_knows_the_arguments_of_commands(server: StandinServer) -> None:
    # Command names are completed from the registry (test_repl.py checks every one).
    chat = new_chat(server.url)
    run_repl(chat, "hello\r/save beta\r/save alpha\r/set top_k 3\r" + CTRL_D)
    assert completions(chat, "/think c") == ["/think collapse"]
    assert sorted(completions(chat, "/think ")) == ["/think collapse", "/think hide", "/think show"]
    assert sorted(completions(chat, "/set top")) == ["/set top_k", "/set top_p"]
    assert completions(chat, "/load ") == ["/load alpha", "/load beta"]
    assert completions(chat, "/load b") == ["/load beta"]
    assert completions(chat, "/unset ") == ["/unset top_k"]


# ---- the toolbar -----------------------------------------------------------------------


def test_toolbar_after_an_answer(server_factory, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("x")
    server = server_factory(serves_tokenize=False)  # no count: the usage stands (test_insight)
    repl = run_repl(new_chat(server.url), "hello\r" + CTRL_D)
    bar = repl.toolbar()
    # The stand-in counts a prompt token per 4 characters and a token per delta:
    # "hello" -> 1, "You said: hello" in 4-character deltas -> 4.
    assert bar.startswith(" standin-model · 5 / 4,096 tokens · TTFT "), bar
    assert re.search(r" · TTFT \d[\d,]* ms(?: · \d+\.\d tokens/s)?$", bar), bar  # rate: if measured
    assert server.max_model_len == 4096

    repl = run_repl(repl.chat, f"/file {notes}\r" + CTRL_D)
    assert repl.toolbar().endswith(" · attached: notes.txt")


def test_toolbar_before_any_answer(server: StandinServer) -> None:
    repl = run_repl(new_chat(server.url), CTRL_D)
    assert repl.toolbar() == " model: asking the server…"


def test_toolbar_shows_the_context_length_when_the_model_was_named(server_factory) -> None:
    server = server_factory(serves_tokenize=False)  # no count: the usage stands (test_insight)
    repl = run_repl(new_chat(server.url, model="standin-model"), "hello\r" + CTRL_D)
    # The model list was never needed; the toolbar's first look fetches it in the background.
    deadline = time.monotonic() + 10
    while " 5 / 4,096 tokens" not in repl.toolbar() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert " 5 / 4,096 tokens" in repl.toolbar()


def test_toolbar_context_after_reset(server: StandinServer) -> None:
    repl = run_repl(new_chat(server.url), "hello\r/reset\r" + CTRL_D)
    assert "5 / 4,096 tokens" not in repl.toolbar()


# ---- context length --------------------------------------------------------------------

CONTEXT_ERROR = (
    "This model's maximum context length is 4096 tokens. However, you requested 5000 "
    "tokens (4000 in the messages, 1000 in the completion). Please reduce the length of "
    "the messages or completion."
)


def test_context_length_error_names_undo_and_reset(server: StandinServer, capsys) -> None:
    server.push(
        Reply(content="first answer"), Reply(status=400, error_body=vllm_error(CONTEXT_ERROR, 400))
    )
    run_repl(new_chat(server.url), "one\rtwo\rthree\r" + CTRL_D)
    captured = capsys.readouterr()
    errors = error_lines(captured.err)
    assert len(errors) == 1
    assert "maximum context length is 4096 tokens" in errors[0]
    assert "/undo" in errors[0] and "/reset" in errors[0]
    assert server.requests[-1]["messages"] == [
        user("one"),
        assistant("first answer"),
        user("three"),
    ]


def test_undo_after_a_context_length_error_shrinks_the_conversation(
    server: StandinServer, capsys
) -> None:
    server.push(
        Reply(content="long answer"),
        Reply(status=400, error_body=vllm_error(CONTEXT_ERROR, 400)),
    )
    run_repl(new_chat(server.url), "one\rtwo\r/undo\rthree\r" + CTRL_D)
    assert "removed the last exchange" in capsys.readouterr().out
    assert server.requests[-1]["messages"] == [user("three")]


def test_a_file_sent_with_a_cut_off_answer_is_not_sent_again(
    server: StandinServer, tmp_path: Path, capsys
) -> None:
    attached = tmp_path / "notes.txt"
    attached.write_text("FILE BODY\n")
    server.push(Reply(content="partial answer here", chunk_chars=4, cut_after=2))
    chat = new_chat(server.url)
    assert drive(chat, f"/file {attached}\rfirst\rsecond\r" + CTRL_D) == 0
    first, second = (request["messages"] for request in server.requests)
    assert "FILE BODY" in first[-1]["content"]
    assert second[-1] == {"role": "user", "content": "second"}


def test_copy_sees_the_code_blocks_the_screen_shows() -> None:
    # A fence-like line indented 4+ past the opening is code, for /copy as for the screen.
    answer = "```md\nIndent code like this:\n    ```\n    code\n    ```\n```\n\nAfter.\n"
    assert code_blocks(answer) == ["Indent code like this:\n    ```\n    code\n    ```"]


# ---- /version --------------------------------------------------------------------------


def test_version_shows_the_clients_and_the_servers(
    server_factory: Callable[..., StandinServer], capsys: pytest.CaptureFixture[str]
) -> None:
    server = server_factory(api_key="sekrit")  # vLLM guards /v1 only: /version needs no key
    root = server.url.removesuffix("/v1")
    assert drive(new_chat(server.url), "/version\r" + CTRL_D) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines() == [f"vllm-chat {__version__}", f"server 0.32.0 ({root})"]
    assert captured.err == ""
    assert server.requests == []


def test_version_from_a_server_without_it_says_so_in_one_line(
    server_factory: Callable[..., StandinServer], capsys: pytest.CaptureFixture[str]
) -> None:
    server = server_factory(without={"/version"})  # as a server that is not vLLM
    root = server.url.removesuffix("/v1")
    assert drive(new_chat(server.url), "/version\r/system\r" + CTRL_D) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines() == [f"vllm-chat {__version__}", "no system prompt is set"]
    assert error_lines(captured.err) == [
        f"error: the server at {root} has no /version endpoint (404 Not Found); "
        "not vLLM, or behind a proxy that passes on only /v1?"
    ]


def test_version_with_the_server_down_still_gives_the_clients(
    capsys: pytest.CaptureFixture[str],
) -> None:
    port = dead_port()
    assert drive(new_chat(f"http://127.0.0.1:{port}/v1"), "/version\r" + CTRL_D) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines() == [f"vllm-chat {__version__}"]
    (error,) = error_lines(captured.err)
    assert f"nothing listens on port {port}" in error

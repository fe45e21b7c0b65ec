"""Settings that never surprise: sampling values checked on the way in, keys kept out of
request bodies, and `/connect` / `/key` to fix a wrong server or key without losing the chat.

Each test drives the real command: `vllm-chat` in a pseudo-terminal (read through the `pyte`
emulator of test_e2e), the REPL over prompt_toolkit's pipe input, or `-q` in a pipe; all
against stand-in servers on 127.0.0.1.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.repl.test_power import error_lines, run_repl
from tests.repl.test_repl import CTRL_D, new_chat
from tests.standin import StandinServer
from tests.test_cli import dead_url, run_cli
from tests.test_e2e import Terminal, spawn
from vllm_chat.chat.conversation import Conversation, Message
from vllm_chat.store.saved import FORMAT, VERSION, SavedChat, save

KEY = "sk-right-0123456789"


def user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


def said(text: str) -> dict[str, str]:
    """The stand-in's default answer to `text`."""
    return {"role": "assistant", "content": f"You said: {text}"}


class Recorder(Terminal):
    """A `Terminal` that also keeps every character the child wrote, escapes included."""

    def __init__(self, child: Any) -> None:
        self.raw: list[str] = []
        super().__init__(child)

    def write(self, data: str) -> None:
        self.raw.append(data)
        super().write(data)


# ---- /key after a 401, in a terminal -------------------------------------------------------


def test_key_after_a_401_is_read_hidden_and_the_conversation_carries_on(
    server_factory, tmp_path: Path, children
) -> None:
    server = server_factory(api_key=KEY)
    history = tmp_path / "history"
    child, _ = spawn("--url", server.url, "--api-key", "sk-wrong", "--history-file", str(history))
    children.append(child)
    term = Recorder(child)  # reads the child from now on, in place of spawn's Terminal
    term.wait_prompt()
    child.send("first question\r")
    term.wait_text("the server rejected the key from --api-key (401")
    term.wait_prompt()
    child.send("/key\r")
    term.wait_text("API key for")
    child.send(KEY + "\r")
    term.wait_text("connected to")
    term.wait_prompt()
    assert "key changed" in term.seen_text()
    child.send("/retry\r")  # the message that met the 401, sent again with the new key
    term.wait_text("You said: first question")
    term.wait_prompt()
    child.send("and then?\r")
    term.wait_text("You said: and then?")
    term.wait_prompt()
    child.send("/exit\r")
    assert term.wait_exit() == 0
    # The conversation went on where it was: the last request carries the first exchange.
    assert server.requests[-1]["messages"] == [
        user("first question"),
        said("first question"),
        user("and then?"),
    ]
    assert server.headers[-1]["Authorization"] == f"Bearer {KEY}"
    # The key was never on the screen nor in anything written to the terminal...
    assert KEY not in term.seen_text()
    assert KEY not in "".join(term.raw)
    assert "*" * len(KEY) in term.seen_text()  # what the hidden prompt shows instead
    # ...nor in the history, which keeps the /key line itself.
    kept = history.read_text()
    assert KEY not in kept
    assert "+/key\n" in kept and "+first question\n" in kept


# ---- /connect between two servers ----------------------------------------------------------


def test_connect_switches_server_and_keeps_the_conversation(
    server_factory, capsys: pytest.CaptureFixture[str]
) -> None:
    first = server_factory()
    second = server_factory(models=("other-model", "other-model-large"))
    keys = (
        "hello\r"
        f"/connect {second.url}\r"
        "/model other-model\r"
        "second question\r"
        f"/connect {first.url}\r"
        "/model standin-model\r"
        "third question\r"
    )
    run_repl(new_chat(first.url), keys + CTRL_D)
    captured = capsys.readouterr()
    out, errors = captured.out, error_lines(captured.err)
    assert f"connected to {second.url} · the conversation is kept (1 turn)" in out
    # The model in use is not on the new server: said, with what it has.
    assert errors == [
        f"error: model standin-model is not on {second.url}, which has: other-model, "
        "other-model-large; /model NAME switches",
        f"error: model other-model is not on {first.url}, which has: standin-model, "
        "standin-model-large; /model NAME switches",
    ]
    assert f"connected to {first.url} · the conversation is kept (2 turns)" in out
    assert [r["model"] for r in second.requests] == ["other-model"]
    assert second.requests[0]["messages"] == [user("hello"), said("hello"), user("second question")]
    assert [r["model"] for r in first.requests] == ["standin-model", "standin-model"]
    assert first.requests[-1]["messages"] == [
        user("hello"),
        said("hello"),
        user("second question"),
        said("second question"),
        user("third question"),
    ]


def test_connect_with_key_switches_both_and_shows_the_source(
    server_factory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = server_factory()
    second = server_factory(api_key=KEY)
    history = tmp_path / "history"
    keys = f"hello\r/connect {second.url} --key\r{KEY}\r/settings\rnext\r"
    run_repl(new_chat(first.url), keys + CTRL_D, history_file=history)
    captured = capsys.readouterr()
    assert error_lines(captured.err) == []
    assert f"connected to {second.url} · key changed · the conversation is kept" in captured.out
    assert "set, from /key (hidden)" in captured.out
    assert second.requests[0]["messages"] == [user("hello"), said("hello"), user("next")]
    assert second.headers[-1]["Authorization"] == f"Bearer {KEY}"
    assert KEY not in captured.out + captured.err
    assert KEY not in history.read_text()
    assert f"+/connect {second.url} --key\n" in history.read_text()


def test_connect_to_a_server_not_up_yet_then_again_once_it_is(
    server_factory, capsys: pytest.CaptureFixture[str]
) -> None:
    server = server_factory()
    down = dead_url()
    keys = f"hello\r/connect {down}\rlost?\r/connect {server.url}\rback\r"
    run_repl(new_chat(server.url), keys + CTRL_D)
    captured = capsys.readouterr()
    errors = error_lines(captured.err)
    assert len(errors) == 2, errors
    assert errors[0].startswith(f"error: cannot reach the server at {down}")
    assert errors[1].startswith(f"error: cannot reach the server at {down}")  # "lost?"
    assert f"now using {down} · the conversation is kept (1 turn); /connect tries" in captured.out
    assert "; /retry sends the failed message again" in captured.out  # "lost?" waits for it
    assert server.requests[-1]["messages"] == [user("hello"), said("hello"), user("back")]


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("/connect localhost:8000", "the URL must start with http:// or https://"),
        ("/connect http://", "the URL has no host name"),
        ("/connect http://a/v1 http://b/v1", "usage: /connect [URL] [--key]"),
        ("/connect --token", "usage: /connect [URL] [--key]"),
    ],
)
def test_connect_refuses_a_bad_url_and_changes_nothing(
    server: StandinServer, capsys: pytest.CaptureFixture[str], line: str, says: str
) -> None:
    run_repl(new_chat(server.url), f"{line}\rhi\r" + CTRL_D)
    errors = error_lines(capsys.readouterr().err)
    assert len(errors) == 1 and says in errors[0], errors
    assert server.requests[0]["messages"] == [user("hi")]


def test_a_key_typed_on_the_command_line_is_refused_and_never_kept(
    server_factory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = server_factory(api_key=KEY)
    history = tmp_path / "history"
    keys = f"/key {KEY}\r/connect {server.url} {KEY}\r/connect --key={KEY}\rhi\r"
    run_repl(new_chat(server.url), keys + CTRL_D, history_file=history)
    errors = error_lines(capsys.readouterr().err)
    assert "/key takes no argument" in errors[0]
    assert "usage: /connect [URL] [--key]" in errors[1]
    assert "usage: /connect [URL] [--key]" in errors[2]
    assert "(401: Unauthorized)" in errors[3]  # nothing changed: still no key
    assert KEY not in history.read_text()
    assert "+hi\n" in history.read_text()


def test_key_prompt_left_empty_changes_nothing(
    server_factory, capsys: pytest.CaptureFixture[str]
) -> None:
    server = server_factory()
    run_repl(new_chat(server.url, api_key="sk-old"), "/key\r\rhi\r" + CTRL_D)
    assert "no key typed; nothing changed" in capsys.readouterr().out
    assert server.headers[-1]["Authorization"] == "Bearer sk-old"


# ---- /set: checked before it is kept ------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("/set temperature NaN", "temperature must be a number from 0 to 2, got NaN; not set"),
        ("/set temperature -1", "temperature must be a number from 0 to 2, got -1; not set"),
        ("/set temperature true", "temperature must be a number from 0 to 2, got true"),
        ("/set temperature warm", 'temperature must be a number from 0 to 2, got "warm"'),
        ("/set max_tokens 0", "max_tokens must be a whole number of at least 1, got 0"),
        ("/set top_p 2", "top_p must be a number above 0 and at most 1, got 2"),
        ("/set top_k -5", "top_k must be a whole number, at least 1 (0 or -1 turns it off)"),
        ("/set top_k 2.5", "top_k must be a whole number"),
        ("/set min_p 1.5", "min_p must be a number from 0 to 1, got 1.5"),
        ("/set n 0", "n must be a whole number of at least 1, got 0"),
        ("/set presence_penalty 3", "presence_penalty must be a number from -2 to 2, got 3"),
        ("/set frequency_penalty -2.5", "frequency_penalty must be a number from -2 to 2"),
        ("/set repetition_penalty 0", "repetition_penalty must be a number above 0, got 0"),
        ("/set repetition_penalty Infinity", "repetition_penalty must be a number above 0"),
        ("/set seed 1.5", "seed must be a whole number (64-bit), got 1.5"),
        ('/set stop ""', 'stop must be a non-empty string or a list of them, got ""'),
        ('/set stop ["a", 1]', "stop must be a non-empty string or a list of them"),
        ('/set my_extra {"x": NaN}', "my_extra must be a JSON value (NaN is not a JSON number)"),
    ],
)
def test_set_refuses_a_value_vllm_would_refuse(
    server: StandinServer, capsys: pytest.CaptureFixture[str], line: str, says: str
) -> None:
    run_repl(new_chat(server.url), f"{line}\rhi\r" + CTRL_D)
    errors = error_lines(capsys.readouterr().err)
    assert len(errors) == 1 and errors[0].startswith("error: ") and says in errors[0], errors
    assert errors[0].endswith("; not set")
    name = line.split()[1]
    # Nothing was stored, and the next message goes out (no InvalidJSONError).
    assert name not in server.requests[0]
    assert server.requests[0]["messages"] == [user("hi")]


@pytest.mark.parametrize(
    ("line", "points_to"),
    [
        ("/set api_key sk-123456", "/key changes the key (it is read hidden)"),
        ("/set API_KEY sk-123456", "/key changes the key"),
        ("/set Authorization Bearer sk-123456", "/key changes the key"),
        ("/set api-key sk-123456", "/key changes the key"),
        ("/set url http://elsewhere/v1", "/connect URL switches the server"),
        ("/set base_url http://elsewhere/v1", "/connect URL switches the server"),
        ("/set Base_URL http://elsewhere/v1", "/connect URL switches the server"),
    ],
)
def test_set_refuses_keys_and_transport_settings(
    server: StandinServer, capsys: pytest.CaptureFixture[str], line: str, points_to: str
) -> None:
    run_repl(new_chat(server.url), f"{line}\rhi\r" + CTRL_D)
    captured = capsys.readouterr()
    errors = error_lines(captured.err)
    assert len(errors) == 1 and "is not a request parameter" in errors[0], errors
    assert points_to in errors[0]
    assert "sk-123456" not in captured.out + captured.err
    body = server.requests[0]
    assert set(body) == {"model", "messages", "stream", "stream_options"}
    assert server.headers[0]["Authorization"] == "Bearer EMPTY"


def test_set_takes_the_edges_of_every_range(
    server: StandinServer, capsys: pytest.CaptureFixture[str]
) -> None:
    values = {
        "temperature": 0,
        "top_p": 1,
        "top_k": -1,
        "min_p": 0,
        "max_tokens": 1,
        "n": 1,
        "presence_penalty": -2,
        "frequency_penalty": 2,
        "repetition_penalty": 0.01,
        "seed": -1,
        "stop": [],
    }
    keys = "".join(f"/set {name} {json.dumps(value)}\r" for name, value in values.items())
    run_repl(new_chat(server.url), keys + "hi\r" + CTRL_D)
    # Nothing refused; max_tokens 1 cuts the answer, which is said.
    lines = error_lines(capsys.readouterr().err)
    assert [line for line in lines if "token limit" not in line] == [], lines
    body = server.requests[0]
    assert {name: body[name] for name in values} == values


# ---- /load and --load: a bad saved value is not applied ------------------------------------


def write_chat(path: Path, sampling: dict[str, Any]) -> Path:
    """A saved chat with one exchange, written as /save writes it, with `sampling` as given."""
    conversation = Conversation(None, [Message("user", "earlier"), Message("assistant", "reply")])
    save(SavedChat("standin-model", conversation), path)
    document = json.loads(path.read_text())
    assert document["format"] == FORMAT and document["version"] == VERSION
    document["sampling"] = sampling
    path.write_text(json.dumps(document))  # NaN is written as JSON's NaN, as Python does
    return path


BAD_SAVED = {"temperature": float("nan"), "top_k": 20, "api_key": "sk-123456", "top_p": 5}


def test_load_applies_the_good_values_and_names_each_bad_one(
    server: StandinServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_chat(tmp_path / "chat.json", BAD_SAVED)
    run_repl(new_chat(server.url), f"/load {path}\rnext\r" + CTRL_D)
    captured = capsys.readouterr()
    lines = error_lines(captured.err)
    assert lines == [
        "the saved chat's temperature must be a number from 0 to 2, got NaN; not applied",
        "the saved chat's api_key is not a request parameter: it would put the key in every "
        "request body, where server logs keep it; /key changes the key (it is read hidden); "
        "not applied",
        "the saved chat's top_p must be a number above 0 and at most 1, got 5; not applied",
    ]
    assert "loaded 1 turn" in captured.out
    body = server.requests[0]
    assert body["top_k"] == 20
    assert not {"temperature", "api_key", "top_p"} & set(body)
    assert body["messages"] == [
        user("earlier"),
        {"role": "assistant", "content": "reply"},
        user("next"),
    ]
    assert "sk-123456" not in captured.out + captured.err


def test_load_flag_applies_the_good_values_and_names_each_bad_one(
    server: StandinServer, tmp_path: Path
) -> None:
    path = write_chat(tmp_path / "chat.json", BAD_SAVED)
    result = run_cli("--url", server.url, "--load", str(path), "-q", "next")
    assert result.returncode == 0, result.stderr
    err = result.stderr.decode()
    assert len(err.splitlines()) == 3 and "not applied" in err, err
    assert "temperature must be a number from 0 to 2, got NaN" in err
    body = server.requests[0]
    assert body["top_k"] == 20
    assert not {"temperature", "api_key", "top_p"} & set(body)


# ---- flags: in range or a usage error ------------------------------------------------------


def test_flags_at_the_edges_of_their_ranges_are_sent(server: StandinServer) -> None:
    extra = '{"top_k": 0, "min_p": 1, "seed": -1, "stop": "###", "repetition_penalty": 2.5}'
    args = ["--temperature", "2", "--top-p", "1", "--max-tokens", "1", "--extra-body", extra]
    result = run_cli("--url", server.url, *args, "-q", "hi")
    assert result.returncode == 0, result.stderr
    body = server.requests[0]
    assert (body["temperature"], body["top_p"], body["max_tokens"]) == (2.0, 1.0, 1)
    assert (body["top_k"], body["min_p"], body["seed"], body["stop"]) == (0, 1, -1, "###")
    assert body["repetition_penalty"] == 2.5

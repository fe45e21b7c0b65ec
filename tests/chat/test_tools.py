"""Tool calls against the stand-in, streamed in vLLM's shapes: shown, answered, kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.inprocess import run_main
from tests.repl.test_power import run_repl
from tests.repl.test_repl import CTRL_D, new_chat
from tests.standin import Reply, StandinServer

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}
TIME = {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}}


def tools_file(tmp_path: Path, tools: object = (WEATHER, TIME)) -> Path:
    path = tmp_path / "tools.json"
    path.write_text(json.dumps(list(tools) if isinstance(tools, tuple) else tools))
    return path


def test_quick_prints_each_call_as_a_json_line(server: StandinServer, tmp_path: Path) -> None:
    server.push(Reply(tool_calls=[("get_weather", '{"city": "Paris"}'), ("get_time", "{}")],
                      finish_reason="tool_calls"))  # fmt: skip
    args = ("--tools", str(tools_file(tmp_path)), "--tool-choice", "get_weather", "-q", "hi")
    done = run_main("--url", server.url, *args)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert [(c["name"], c["arguments"]) for c in lines] == [
        ("get_weather", '{"city": "Paris"}'), ("get_time", "{}")
    ]  # fmt: skip
    assert lines[0]["id"] != lines[1]["id"]
    sent = server.requests[-1]
    assert sent["tools"] == [WEATHER, TIME]
    assert sent["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}


def test_arguments_that_are_not_json_are_kept_exactly(
    server: StandinServer, tmp_path: Path
) -> None:
    broken = '{"city": "Par'  # what a call cut by the token limit looks like
    server.push(Reply(tool_calls=[("get_weather", broken)], finish_reason="length"))
    done = run_main("--url", server.url, "--tools", str(tools_file(tmp_path)), "-q", "hi")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.decode())["arguments"] == broken


@pytest.mark.parametrize(
    "content, problem",
    [
        ("not json", "is not JSON"),
        ('{"a": 1}', "expected a non-empty JSON list"),
        ('[{"type": "function", "function": {"description": "x"}}]', "tool 1 has no name"),
        ('[{"type": "function", "function": {"name": "f", "parameters": []}}]',
         "not a JSON Schema"),
    ],
)
def test_a_bad_tools_file_is_one_line_and_nothing_is_sent(
    server: StandinServer, tmp_path: Path, content: str, problem: str
) -> None:
    path = tmp_path / "tools.json"
    path.write_text(content)
    done = run_main("--url", server.url, "--tools", str(path), "-q", "hi")
    assert done.returncode == 2
    lines = done.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and problem in lines[0], lines
    assert server.requests == []


def test_the_repl_shows_calls_asks_for_results_and_goes_on(
    server: StandinServer, tmp_path: Path, capsys
) -> None:
    chat = new_chat(server.url)
    server.push(
        Reply(content="Let me look.", tool_calls=[("get_weather", '{"city": "Paris"}'),
              ("get_time", "{}")], finish_reason="tool_calls"),
        Reply(content="It is sunny at noon."),
    )  # fmt: skip
    keys = f"/tools {tools_file(tmp_path)}\rweather?\rsunny\rnoon\r/history\r/undo\r"
    run_repl(chat, keys + CTRL_D)
    out = capsys.readouterr().out
    assert "2 tools sent with each request" in out
    assert "tool call get_weather#" in out and '"city": "Paris"' in out
    assert "It is sunny at noon." in out
    first, then = server.requests[-2:]
    assert first["tools"] == [WEATHER, TIME]
    calls = then["messages"][1]["tool_calls"]
    assert [c["function"] for c in calls] == [
        {"name": "get_weather", "arguments": '{"city": "Paris"}'},
        {"name": "get_time", "arguments": "{}"},
    ]
    assert then["messages"][1]["content"] == "Let me look."
    assert then["messages"][2:] == [
        {"role": "tool", "tool_call_id": calls[0]["id"], "content": "sunny"},
        {"role": "tool", "tool_call_id": calls[1]["id"], "content": "noon"},
    ]
    assert f"result for {calls[0]['id']}" in out  # /history shows the results
    assert chat.conversation.messages == []  # /undo took the whole exchange away


def test_result_command_answers_a_call_by_id_from_a_file(
    server: StandinServer, tmp_path: Path, capsys
) -> None:
    chat = new_chat(server.url)
    server.push(Reply(tool_calls=[("get_weather", "{}")], finish_reason="tool_calls"),
                Reply(content="Thanks."))  # fmt: skip
    result = tmp_path / "result.json"
    result.write_text('{"sky": "clear"}')
    run_repl(chat, f"/tools {tools_file(tmp_path)}\rweather?\r" + CTRL_D)
    call_id = chat.conversation.pending_tool_calls()[0]["id"]
    run_repl(chat, f"/result nope x\r/result {call_id} @{result}\r" + CTRL_D)
    assert "no tool call nope waits for a result" in capsys.readouterr().err
    assert server.requests[-1]["messages"][-1] == {
        "role": "tool", "tool_call_id": call_id, "content": '{"sky": "clear"}'
    }  # fmt: skip
    assert chat.conversation.messages[-1].content == "Thanks."


def test_tool_calls_survive_save_load_and_the_store(server: StandinServer, tmp_path: Path) -> None:
    server.push(Reply(tool_calls=[("get_weather", '{"city": "Oslo"}')], finish_reason="tool_calls"))
    tools = str(tools_file(tmp_path))
    assert run_main("--url", server.url, "--tools", tools, "-q", "weather?").returncode == 0
    # The script runs the tool itself, then goes on: the stored chat carries the call.
    chat = new_chat(server.url)
    from vllm_chat.config.settings import Settings
    from vllm_chat.store.resume import continue_stored, keep_in_store

    settings = Settings(url=server.url, resume="")
    journal = keep_in_store(chat, settings)
    assert continue_stored(chat, journal, settings) is None
    call = chat.conversation.pending_tool_calls()[0]
    assert call["function"] == {"name": "get_weather", "arguments": '{"city": "Oslo"}'}
    run_repl(chat, f"rainy\r/save {tmp_path / 'saved.json'}\r" + CTRL_D)
    assert server.requests[-1]["messages"][-1] == {
        "role": "tool", "tool_call_id": call["id"], "content": "rainy"
    }  # fmt: skip
    again = new_chat(server.url)
    run_repl(again, f"/load {tmp_path / 'saved.json'}\rand tomorrow?\r" + CTRL_D)
    assert [m["role"] for m in server.requests[-1]["messages"]] == [
        "user", "assistant", "tool", "assistant", "user"
    ]  # fmt: skip


def test_a_script_answers_the_calls_with_continue(server: StandinServer, tmp_path: Path) -> None:
    server.push(Reply(tool_calls=[("get_weather", '{"city": "Rome"}'), ("get_time", "{}")],
                      finish_reason="tool_calls"), Reply(content="Warm, at noon."))  # fmt: skip
    tools = ("--tools", str(tools_file(tmp_path)))
    first = run_main("--url", server.url, *tools, "-q", "weather and time?")
    ids = [json.loads(line)["id"] for line in first.stdout.decode().splitlines()]
    one = run_main("--url", server.url, *tools, "-c", "-q", "warm")
    assert one.returncode == 0 and one.stdout == b""
    assert "1 more tool call(s) wait for a result" in one.stderr.decode()
    assert len(server.requests) == 1  # nothing is sent while a call still waits
    two = run_main("--url", server.url, *tools, "-c", "-q", "noon")
    assert two.returncode == 0, two.stderr
    assert two.stdout == b"Warm, at noon.\n"
    assert server.requests[-1]["messages"][2:] == [
        {"role": "tool", "tool_call_id": ids[0], "content": "warm"},
        {"role": "tool", "tool_call_id": ids[1], "content": "noon"},
    ]


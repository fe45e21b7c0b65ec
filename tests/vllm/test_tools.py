"""Tool calls against the real vLLM (hermes parser): a named tool choice makes even a
random model emit a valid call, streamed in vLLM's own pieces."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.repl.test_power import run_repl
from tests.repl.test_repl import CTRL_D
from tests.vllm.server import RealServer
from tests.vllm.test_quick import quick
from tests.vllm.test_repl import answered, start_repl
from vllm_chat.app import make_chat
from vllm_chat.config.settings import Settings
from vllm_chat.render.calls import NOT_JSON, final_arguments

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}

# The tool choice `--tool-choice get_weather` sends.
NAMED = {"type": "function", "function": {"name": "get_weather"}}


def tools_file(tmp_path: Path) -> Path:
    path = tmp_path / "tools.json"
    path.write_text(json.dumps([WEATHER]))
    return path


@dataclass
class Streamed:
    """A request's tool calls as vLLM itself streams them: each call's argument pieces."""

    pieces: dict[int, list[str]]
    finish: str | None

    @property
    def arguments(self) -> list[str]:
        return ["".join(self.pieces[index]) for index in sorted(self.pieces)]


def streamed(vllm: RealServer, prompt: str, choice: Any, max_tokens: int, seed: int) -> Streamed:
    """Ask vLLM directly what the command asked it (the same seed: the same answer)."""
    chunks = vllm.stream({
        "messages": [{"role": "user", "content": prompt}], "tools": [WEATHER],
        "tool_choice": choice, "max_tokens": max_tokens, "seed": seed,
    })  # fmt: skip
    result = Streamed({}, None)
    for chunk in chunks:
        for item in chunk["choices"]:  # type: ignore[union-attr]
            result.finish = item.get("finish_reason") or result.finish
            for delta in item["delta"].get("tool_calls") or []:
                piece = (delta.get("function") or {}).get("arguments") or ""
                result.pieces.setdefault(delta["index"], []).append(piece)
    return result


def test_quick_prints_vllms_tool_call_exactly(vllm: RealServer, tmp_path: Path) -> None:
    done = quick(
        vllm, "--tools", str(tools_file(tmp_path)), "--tool-choice", "get_weather",
        "-q", "weather in Paris?", "--max-tokens", "80", "--extra-body", '{"seed": 1}',
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    calls = [json.loads(line) for line in done.stdout.decode().splitlines() if line]
    assert len(calls) == 1 and calls[0]["name"] == "get_weather"
    # The arguments exactly as vLLM streamed them, in pieces, under one index: whatever
    # the random model made of them (JSON or not), as a user debugging a parser needs.
    vllms = streamed(vllm, "weather in Paris?", NAMED, max_tokens=80, seed=1)
    assert len(vllms.pieces[0]) > 2
    assert [call["arguments"] for call in calls] == vllms.arguments


def test_a_result_goes_back_and_vllm_answers(vllm: RealServer, tmp_path: Path, capsys) -> None:
    settings = Settings(url=vllm.url, api_key=vllm.api_key, private=True,
                        sampling={"max_tokens": 40, "seed": 1})  # fmt: skip
    chat = make_chat(settings)
    keys = f"/tools {tools_file(tmp_path)}\r/set tool_choice required\rweather in Oslo?\r"
    run_repl(chat, keys + '/set tool_choice none\r{"sky": "clear"}\r' + CTRL_D)
    roles = [m.role for m in chat.conversation.messages]
    assert roles[:3] == ["user", "assistant", "tool"], roles
    call = chat.conversation.messages[1].tool_calls[0]  # type: ignore[index]
    assert call["function"]["name"] == "get_weather"
    assert chat.conversation.messages[2].tool_call_id == call["id"]
    assert roles[3] == "assistant"  # vLLM took the tool message and answered
    assert "error" not in capsys.readouterr().err.lower()


def test_a_streamed_call_is_shown_answered_and_vllm_goes_on_in_a_terminal(
    vllm: RealServer, tmp_path: Path, children
) -> None:
    child, term = start_repl(
        vllm, children, "--tools", str(tools_file(tmp_path)), "--tool-choice", "get_weather",
        "--max-tokens", "60", "--extra-body", '{"seed": 1}',
    )  # fmt: skip
    vllms = streamed(vllm, "weather in Paris?", NAMED, max_tokens=60, seed=1)
    served = answered(vllm)
    child.send("weather in Paris?\r")
    term.wait_text("result for get_weather#")
    lines = term.seen_lines()
    head = next(i for i, line in enumerate(lines) if line.startswith("tool call get_weather#"))
    call_id = lines[head].removeprefix("tool call get_weather#")
    assert call_id.startswith("chatcmpl-tool-")  # vLLM's own id, as it sent it
    arguments, valid = final_arguments({"function": {"arguments": vllms.arguments[0]}})
    shown = "\n".join(lines[head + 1 :])
    assert shown.startswith(arguments.splitlines()[0])
    assert (NOT_JSON in shown) is not valid
    child.send("/set tool_choice none\r")
    term.wait_text('tool_choice = "none"')
    child.send('{"sky": "clear"}\r')
    term.wait(term.at_prompt, "the answer after the result", timeout=30)
    assert answered(vllm) == served + 2  # the tool message was accepted and answered
    child.send("\x04")
    assert term.wait_exit() == 0


def test_calls_cut_by_the_token_limit_are_printed_exactly_as_vllm_streamed_them(
    vllm: RealServer, tmp_path: Path
) -> None:
    done = quick(
        vllm, "--tools", str(tools_file(tmp_path)), "--tool-choice", "required",
        "-q", "weather?", "--max-tokens", "40", "--extra-body", '{"seed": 3}',
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    printed = [json.loads(line) for line in done.stdout.decode().splitlines() if line]
    vllms = streamed(vllm, "weather?", "required", max_tokens=40, seed=3)
    assert vllms.pieces, "vLLM streamed no tool call"
    assert [c["arguments"] for c in printed] == vllms.arguments
    assert all(c["id"].startswith("chatcmpl-tool-") for c in printed)  # vLLM's ids, each its own
    assert len({c["id"] for c in printed}) == len(printed)
    # Cut by the token limit in the middle of its arguments: what a broken call looks
    # like, and what the user needs to see, exactly as received.
    assert vllms.finish == "length"
    assert not valid_json(printed[-1]["arguments"])


def valid_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True

"""`-q --json` through the real command in a pipe: one JSON object on stdout when the
answer is complete, or one on stderr for a failure, with the usual exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.inprocess import run_main
from tests.ports import closed_port
from tests.standin import MAX_LOGPROBS, Reply, StandinServer, vllm_error


def quick_json(server: StandinServer, *args: str) -> tuple[int, Any, bytes]:
    """Exit code, the one JSON object on stdout, and stderr."""
    done = run_main("--url", server.url, "--private", "--json", "-q", *args)
    lines = done.stdout.decode().splitlines()
    assert len(lines) == 1, done
    return done.returncode, json.loads(lines[0]), done.stderr


def failed_json(*args: str) -> tuple[int, Any, bytes]:
    """Exit code, the one JSON object on stderr, and stdout."""
    done = run_main("--private", "--json", *args)
    lines = done.stderr.decode().splitlines()
    assert len(lines) == 1, done
    return done.returncode, json.loads(lines[0]), done.stdout


def test_the_answer_is_one_object_with_its_figures(server) -> None:
    server.push(Reply(content="Paris, of course.", delay=0.01))
    code, answer, err = quick_json(server, "capital of France?")
    assert (code, err) == (0, b"")
    assert list(answer) == ["model", "content", "finish_reason", "usage", "ttft_ms",
                            "tokens_per_second"]  # fmt: skip
    assert answer["model"] == "standin-model" and answer["content"] == "Paris, of course."
    assert answer["finish_reason"] == "stop"
    # As the server sent it, key for key in its order (vLLM's: total before completion).
    assert list(answer["usage"]) == ["prompt_tokens", "total_tokens", "completion_tokens"]
    assert answer["usage"]["completion_tokens"] == 5
    assert isinstance(answer["ttft_ms"], float) and answer["ttft_ms"] >= 0
    assert answer["tokens_per_second"] is None or answer["tokens_per_second"] > 0


def test_reasoning_and_a_cut_off_answer(server) -> None:
    server.push(Reply(reasoning="Let me think.", content="Forty-two, said briefly"))
    code, answer, err = quick_json(server, "why?", "--max-tokens", "6")
    assert code == 0
    assert answer["reasoning"] == "Let me think." and answer["content"] == "Forty-tw"
    assert answer["finish_reason"] == "length"
    assert answer["warnings"] == ["the answer stopped at the token limit (max_tokens 6)"]
    assert err == b""  # the warning is in the object, not beside it


def test_with_logprobs_one_entry_per_token_in_openais_shape(server) -> None:
    server.push(Reply(content="a日b", chunk_chars=1, split_characters=True,
                      logprobs=[-0.5, -0.01, -2.0]))  # fmt: skip
    code, answer, _ = quick_json(server, "hi", "--logprobs", "3")
    assert code == 0 and answer["content"] == "a日b"
    tokens = answer["logprobs"]
    assert [(t["token"], t["bytes"]) for t in tokens] == [
        ("a", [97]), ("", []), ("日", list("日".encode())), ("b", [98])
    ]
    for token in tokens:
        assert set(token) == {"token", "logprob", "bytes", "top_logprobs"}
        alternatives = token["top_logprobs"]
        assert len(alternatives) == 3 and all(set(a) == {"token", "logprob", "bytes"}
                                               for a in alternatives)  # fmt: skip
        assert [a["logprob"] for a in alternatives] == sorted(
            (a["logprob"] for a in alternatives), reverse=True)  # vLLM's order: sampled first
    assert tokens[3]["logprob"] == -2.0
    assert tokens[3]["top_logprobs"][0]["token"] != "b"  # more probable ones came before it


def test_logprobs_the_server_ignores_are_null_with_a_warning(server) -> None:
    server.push(Reply(content="hello", ignore_logprobs=True))
    code, answer, _ = quick_json(server, "hi", "--logprobs")
    assert code == 0 and answer["content"] == "hello" and answer["logprobs"] is None
    assert answer["warnings"] == [
        "the server sent no token probabilities (it ignores logprobs); leave out --logprobs"
    ]
    assert (server.requests[0]["logprobs"], server.requests[0]["top_logprobs"]) == (True, 5)


def test_tool_calls_go_in_the_object_as_received(server, tmp_path: Path) -> None:
    tools = tmp_path / "tools.json"
    tools.write_text(json.dumps([{"type": "function", "function": {"name": "get_weather"}}]))
    server.push(Reply(tool_calls=[("get_weather", '{"city": "Oslo"}')], finish_reason="tool_calls"))
    code, answer, _ = quick_json(server, "weather?", "--tools", str(tools))
    assert code == 0 and answer["finish_reason"] == "tool_calls"
    [call] = answer["tool_calls"]
    assert call["function"] == {"name": "get_weather", "arguments": '{"city": "Oslo"}'}
    assert call["type"] == "function" and call["id"].startswith("chatcmpl-tool-")


def test_a_server_error_is_an_object_on_stderr(server) -> None:
    server.push(Reply(status=500, error_body=vllm_error("engine fell over", 500)))
    code, failure, out = failed_json("--url", server.url, "-q", "hi")
    assert (code, out) == (1, b"")
    assert failure["error"]["type"] == "HTTPStatusError" and failure["error"]["status"] == 500
    assert "engine fell over" in failure["error"]["message"]


def test_a_refused_logprobs_request_says_what_to_do(server) -> None:
    code, failure, _ = failed_json("--url", server.url, "-q", "hi", "--logprobs",
                                   str(MAX_LOGPROBS + 1))  # fmt: skip
    assert code == 1
    assert failure["error"]["message"].endswith(
        "(ask for fewer with --logprobs N, or leave it out)")


def test_no_server_is_an_object_too() -> None:
    code, failure, out = failed_json("--url", f"http://127.0.0.1:{closed_port()}/v1", "-q", "hi")
    assert (code, out) == (1, b"")
    assert failure["error"]["type"] == "ServerUnreachable" and failure["error"]["status"] is None


def test_a_broken_answer_keeps_what_arrived(server) -> None:
    server.push(Reply(content="first part, then nothing", chunk_chars=4, cut_after=3))
    code, failure, out = failed_json("--url", server.url, "-q", "hi")
    assert (code, out) == (1, b"")
    assert failure["error"]["type"] == "StreamError"
    assert failure["partial"]["content"] == "first part, "


def test_usage_errors_exit_2_as_objects(server) -> None:
    code, failure, _ = failed_json("--url", server.url, "-q", "  ")
    assert code == 2 and failure["error"]["message"] == "nothing to send: the message is empty"
    done = run_main("--url", server.url, "-q", "hi", "--logprobs", "-1")
    assert done.returncode == 2 and b"--logprobs: must be 0 or more, got -1" in done.stderr


def test_a_bad_flag_or_config_file_is_an_object_too(server, tmp_path: Path) -> None:
    code, failure, out = failed_json("--url", server.url, "-q", "hi", "--max-tokens", "0")
    assert code == 2 and out == b""
    assert failure["error"] == {
        "message": "argument --max-tokens: must be a whole number of at least 1, got 0",
        "type": "UsageError", "status": None,
    }  # fmt: skip
    code, failure, _ = failed_json("--url", server.url, "-q", "hi", "--no-such-flag")
    assert code == 2 and failure["error"]["message"] == "unrecognized arguments: --no-such-flag"
    missing = tmp_path / "none.toml"
    code, failure, _ = failed_json("--config", str(missing), "-q", "hi")
    assert code == 2 and failure["error"]["message"] == f"config file {missing} does not exist"
    assert server.requests == []

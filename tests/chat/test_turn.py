"""One `Turn` against the stand-in server: it streams, says how it went, and changes nothing.

`Chat` records the result (tests/repl and tests/test_cli.py show what that looks
like); here the turn alone, with an explicit plain `Environment`.
"""

from __future__ import annotations

import copy
import io
from collections.abc import Iterator
from typing import Any

import pytest

from tests.standin import Reply, StandinServer
from vllm_chat.chat.turn import Turn
from vllm_chat.client.api import Client
from vllm_chat.client.errors import HTTPStatusError, StreamError
from vllm_chat.render.environment import Environment
from vllm_chat.render.plain import PlainRenderer


@pytest.fixture
def client(server: StandinServer) -> Iterator[Client]:
    made = Client(server.url)
    yield made
    made.close()


def body(**extra: Any) -> dict[str, Any]:
    return {
        "model": "standin-model",
        "messages": [{"role": "user", "content": "hi"}],
        "stream": True,
        "stream_options": {"include_usage": True},
        **extra,
    }


def run(client: Client, request: dict[str, Any], **options: Any) -> tuple[Any, str, list[str]]:
    """The result of one turn, what it showed on a pipe, and the lines it reported."""
    out = io.StringIO()
    env = Environment(stdout=out, stderr=io.StringIO())
    lines: list[str] = []
    sent = copy.deepcopy(request)
    result = Turn(
        client,
        request,
        lambda: PlainRenderer(out, env=env),
        report=lambda text, **kind: lines.append(text),
        env=env,
        **options,
    ).run()
    assert request == sent  # a turn changes nothing it was given
    return result, out.getvalue(), lines


def test_a_whole_answer(server: StandinServer, client: Client) -> None:
    result, shown, lines = run(client, body())
    assert result.error is None and result.note is None and lines == []
    assert (result.text, shown, result.finish_reason) == ("You said: hi", "You said: hi\n", "stop")
    assert result.stats.usage is not None and result.stats.usage.completion_tokens == 3
    assert result.stats.total_seconds is not None


def test_an_answer_cut_by_max_tokens_says_which_limit(client: Client) -> None:
    result, shown, _ = run(client, body(max_tokens=1))
    assert result.error is None and result.finish_reason == "length"
    assert (result.text, shown) == ("You ", "You \n")
    assert result.note == "the answer stopped at the token limit (max_tokens 1)"


def test_the_context_window_is_asked_only_for_a_length_stop(
    server: StandinServer, client: Client
) -> None:
    asked: list[bool] = []

    def window() -> int:
        asked.append(True)
        return 12

    run(client, body(), context_window=window)
    assert asked == []
    server.push(Reply(content="abcd" * 10, finish_reason="length"))
    result, _, _ = run(client, body(), context_window=window)
    assert asked == [True]
    assert result.note == (
        "the answer stopped at a limit the server set (no max_tokens was sent; "
        "the 12-token context window was not full)"
    )


def test_a_cut_off_stream_returns_what_arrived_and_the_error(
    server: StandinServer, client: Client
) -> None:
    server.push(Reply(content="abcdefghijklmnop", chunk_chars=4, cut_after=2))
    result, shown, _ = run(client, body())
    assert isinstance(result.error, StreamError)
    assert result.text == "abcdefgh" and result.shown_anything
    assert shown.startswith("abcdefgh") and "ijkl" not in shown
    assert result.note is None


def test_a_refused_request_returns_the_error_and_no_text(
    server: StandinServer, client: Client
) -> None:
    server.push(Reply(status=500, error_body={"error": {"message": "boom"}}))
    result, shown, _ = run(client, body())
    assert isinstance(result.error, HTTPStatusError) and "boom" in str(result.error)
    assert (result.text, shown, result.shown_anything) == ("", "", False)


def test_reasoning_alone_is_words_but_no_answer(server: StandinServer, client: Client) -> None:
    server.push(Reply(reasoning="mulling it over", content=""))
    result, shown, _ = run(client, body(), think="hide")
    assert result.saw_words and result.text == "" and shown == ""
    assert result.note == "(no answer after the reasoning)"

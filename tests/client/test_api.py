"""vllm_chat.client.api.Client against the stand-in server on 127.0.0.1: real HTTP, no mocks."""

from __future__ import annotations

import http.server
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.ports import closed_port
from tests.standin import Reply, StandinServer, vllm_error
from vllm_chat.client import api, errors
from vllm_chat.client.api import Client
from vllm_chat.client.errors import (
    ApiError,
    AuthError,
    HTTPStatusError,
    RequestTimeout,
    ServerUnreachable,
    StreamError,
)
from vllm_chat.client.events import BadEvent, ContentDelta, Finish, ModelInfo, ReasoningDelta, Usage

ANSWER = "Hello — café, naïve, 日本語 and 🎉, streamed in pieces.\nSecond line."
HTML_502 = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)


def body(content: str = "hello", **extra: Any) -> dict[str, Any]:
    return {"model": "standin-model", "messages": [{"role": "user", "content": content}], **extra}


@pytest.fixture
def client(server: StandinServer) -> Iterator[Client]:
    with_client = Client(server.url, connect_timeout=5, read_timeout=30)
    yield with_client
    with_client.close()


def collect(events: Iterator[api.StreamEvent]) -> list[api.StreamEvent]:
    return list(events)


def text_of(events: list[api.StreamEvent]) -> str:
    return "".join(event.text for event in events if isinstance(event, ContentDelta))


def reasoning_of(events: list[api.StreamEvent]) -> str:
    return "".join(event.text for event in events if isinstance(event, ReasoningDelta))


def run_until_error(events: Iterator[api.StreamEvent]) -> tuple[list[api.StreamEvent], ApiError]:
    """The events that came before the stream failed, and the failure."""
    got: list[api.StreamEvent] = []
    with pytest.raises(ApiError) as info:
        for event in events:
            got.append(event)
    return got, info.value


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


# -- models -------------------------------------------------------------------------


def test_models_lists_ids_and_max_model_len(server_factory: Callable[..., StandinServer]) -> None:
    server = server_factory(models=("alpha", "beta/gamma-7b"), max_model_len=32768)
    client = Client(server.url)
    assert client.models() == [ModelInfo("alpha", 32768), ModelInfo("beta/gamma-7b", 32768)]
    assert server.models_calls == 1


def test_models_without_any(server_factory: Callable[..., StandinServer]) -> None:
    server = server_factory(models=())
    assert Client(server.url).models() == []


def test_base_url_trailing_slash_is_ignored(server: StandinServer) -> None:
    client = Client(server.url + "/")
    assert [model.id for model in client.models()] == ["standin-model", "standin-model-large"]


def test_models_on_wrong_path_names_the_problem(server: StandinServer) -> None:
    """--url without /v1: the server's 404 body comes through."""
    client = Client(server.url.removesuffix("/v1"))
    with pytest.raises(HTTPStatusError) as info:
        client.models()
    assert info.value.status == 404
    assert "Not Found" in str(info.value)
    assert "/v1" in str(info.value)  # the hint: the base URL usually ends in /v1


# -- streaming ----------------------------------------------------------------------


def test_stream_chat_content_joins_to_the_answer(server: StandinServer, client: Client) -> None:
    server.push(Reply(content=ANSWER, chunk_chars=3))
    events = collect(client.stream_chat(body()))
    pieces = [event for event in events if isinstance(event, ContentDelta)]
    assert len(pieces) > 1
    assert text_of(events) == ANSWER
    assert events[-1] == Finish("stop")
    assert not any(isinstance(event, (Usage, BadEvent, ReasoningDelta)) for event in events)


def test_stream_chat_sends_stream_true_and_the_body(server: StandinServer, client: Client) -> None:
    collect(client.stream_chat(body("what is up?", temperature=0.2, stream=False)))
    sent = server.requests[-1]
    assert sent["stream"] is True
    assert sent["temperature"] == 0.2
    assert sent["messages"] == [{"role": "user", "content": "what is up?"}]


@pytest.mark.parametrize("field", ["reasoning", "reasoning_content"])
def test_reasoning_deltas_from_either_field(
    server: StandinServer, client: Client, field: str
) -> None:
    server.push(Reply(reasoning="Let me think… about it.", content="42.", reasoning_field=field))
    events = collect(client.stream_chat(body()))
    assert reasoning_of(events) == "Let me think… about it."
    assert text_of(events) == "42."
    first_content = next(i for i, e in enumerate(events) if isinstance(e, ContentDelta))
    last_reasoning = max(i for i, e in enumerate(events) if isinstance(e, ReasoningDelta))
    assert last_reasoning < first_content


def test_finish_reason_is_reported(server: StandinServer, client: Client) -> None:
    server.push(Reply(content="cut short", finish_reason="length"))
    events = collect(client.stream_chat(body()))
    assert Finish("length") in events


def test_usage_only_when_asked(server: StandinServer, client: Client) -> None:
    server.push(Reply(content="abcdefgh", chunk_chars=4), Reply(content="abcdefgh", chunk_chars=4))
    plain = collect(client.stream_chat(body()))
    asked = collect(client.stream_chat(body(stream_options={"include_usage": True})))
    assert not any(isinstance(event, Usage) for event in plain)
    usage = [event for event in asked if isinstance(event, Usage)]
    assert len(usage) == 1
    assert usage[0].completion_tokens == 2
    assert usage[0].total_tokens == usage[0].prompt_tokens + 2
    assert text_of(asked) == "abcdefgh"


def test_authorization_without_key_is_bearer_empty(server: StandinServer, client: Client) -> None:
    client.models()
    collect(client.stream_chat(body()))
    assert [h["Authorization"] for h in server.headers] == ["Bearer EMPTY", "Bearer EMPTY"]


def test_authorization_with_key(server_factory: Callable[..., StandinServer]) -> None:
    server = server_factory(api_key="sk-test-123")
    client = Client(server.url, "sk-test-123", api_key_source="flag")
    assert [model.id for model in client.models()] == ["standin-model", "standin-model-large"]
    assert text_of(collect(client.stream_chat(body("hi")))) == "You said: hi"
    assert [h["Authorization"] for h in server.headers] == ["Bearer sk-test-123"] * 2


def test_two_streams_share_one_connection(server: StandinServer, client: Client) -> None:
    """Keep-alive: a Client reuses its connection for consecutive answers."""
    first = collect(client.stream_chat(body("one")))
    second = collect(client.stream_chat(body("two")))
    assert text_of(first) == "You said: one"
    assert text_of(second) == "You said: two"
    assert server.connections == 1


def test_a_body_left_open_after_done_does_not_hold_up_the_answer(server: StandinServer) -> None:
    client = Client(server.url, read_timeout=2)
    server.push(Reply(content="complete answer", open_after_done=30))
    # Waiting for the body's end would run into the read timeout: an error.
    events = collect(client.stream_chat(body("one")))
    assert text_of(events) == "complete answer"
    assert any(isinstance(event, Finish) for event in events)
    assert text_of(collect(client.stream_chat(body("two")))) == "You said: two"


def test_only_the_first_choice_is_shown_when_n_is_above_1(server: StandinServer) -> None:
    chunks = [
        {"choices": [{"index": 0, "delta": {"content": "AAA "}}]},
        {"choices": [{"index": 1, "delta": {"content": "bbb "}}]},
        {"choices": [{"index": 0, "delta": {"content": "AAA"}, "finish_reason": "stop"}]},
        {"choices": [{"index": 1, "delta": {"content": "bbb"}, "finish_reason": "stop"}]},
    ]
    stream = "".join(f"data: {json.dumps(chunk)}\n\n" for chunk in chunks) + "data: [DONE]\n\n"
    server.push(Reply(error_body=stream.encode()))
    assert text_of(collect(Client(server.url).stream_chat(body("n2")))) == "AAA AAA"


@pytest.mark.parametrize(
    ("stream", "expected"),
    [
        (
            '\ufeffdata: {"choices": [{"delta": {"content": "hi"}, "finish_reason": "stop"}]}\n\n',
            "hi",
        ),
        (
            'data: {"error": null, "choices": [{"delta": {"content": "ok"}}]}\n\ndata: [DONE]\n\n',
            "ok",
        ),
    ],
    ids=["byte-order-mark", "error-null"],
)
def test_stream_quirks_still_give_the_answer(
    server: StandinServer, client: Client, stream: str, expected: str
) -> None:
    server.push(Reply(error_body=stream.encode()))
    assert text_of(collect(client.stream_chat(body("x")))) == expected


def test_a_delta_that_is_not_an_object_is_a_bad_event(
    server: StandinServer, client: Client
) -> None:
    stream = (
        'data: {"choices": [{"delta": "oops"}]}\n\n'
        'data: {"choices": [{"delta": {"content": "fine"}, "finish_reason": "stop"}]}\n\n'
        "data: [DONE]\n\n"
    )
    server.push(Reply(error_body=stream.encode()))
    events = collect(client.stream_chat(body("x")))
    assert any(isinstance(event, BadEvent) for event in events)
    assert text_of(events) == "fine"


def test_plain_text_with_200_is_not_an_event_stream(server: StandinServer, client: Client) -> None:
    server.push(Reply(content_type="text/plain", error_body=b"OK"))
    with pytest.raises(StreamError, match="not an event stream"):
        collect(client.stream_chat(body("x")))


def test_model_listings_share_one_connection(server: StandinServer, client: Client) -> None:
    client.models()
    client.models()
    assert server.models_calls == 2
    assert server.connections == 1


@pytest.mark.parametrize(
    "variant",
    [
        {},
        {"crlf": True},
        {"no_space": True},
        {"keepalive_comments": True},
        {"split_bytes": True},
        {"crlf": True, "no_space": True, "keepalive_comments": True, "split_bytes": True},
        {"send_done": False},
        {"chunk_chars": 1},
    ],
    ids=lambda variant: "+".join(variant) or "plain",
)
def test_wire_variants_give_identical_text(
    server: StandinServer, client: Client, variant: dict[str, Any]
) -> None:
    server.push(Reply(content=ANSWER, reasoning="Ünïcödé reasoning ✓", **variant))
    events = collect(client.stream_chat(body()))
    assert text_of(events) == ANSWER
    assert reasoning_of(events) == "Ünïcödé reasoning ✓"
    assert Finish("stop") in events
    assert not any(isinstance(event, BadEvent) for event in events)


def test_bad_json_event_is_reported_and_the_rest_arrives(
    server: StandinServer, client: Client
) -> None:
    server.push(Reply(content=ANSWER, bad_json_event=True))
    events = collect(client.stream_chat(body()))
    assert [event for event in events if isinstance(event, BadEvent)] == [BadEvent("{not json")]
    assert text_of(events) == ANSWER
    assert events[-1] == Finish("stop")


def test_connection_cut_gives_partial_content_then_stream_error(
    server: StandinServer, client: Client
) -> None:
    server.push(Reply(content="abcdefghijklmnop", chunk_chars=2, cut_after=3))
    got, error = run_until_error(client.stream_chat(body()))
    assert isinstance(error, StreamError)
    assert text_of(got) == "abcdef"
    assert "lost" in str(error)


def test_in_stream_error_event(server: StandinServer, client: Client) -> None:
    server.push(Reply(content="partial answer", stream_error="CUDA out of memory on device 0"))
    got, error = run_until_error(client.stream_chat(body()))
    assert isinstance(error, StreamError)
    assert "CUDA out of memory on device 0" in str(error)
    assert text_of(got) == "partial answer"


def test_unknown_model_gives_servers_message(server: StandinServer, client: Client) -> None:
    with pytest.raises(HTTPStatusError) as info:
        collect(client.stream_chat({**body(), "model": "no-such-model"}))
    assert info.value.status == 404
    assert "The model `no-such-model` does not exist." in str(info.value)
    assert "base URL" not in str(info.value)  # the URL is fine; the model is not


# -- error bodies -------------------------------------------------------------------

ERROR_SHAPES = [
    pytest.param(
        400,
        {"error": {"message": "max_tokens is too large", "type": "BadRequestError", "code": 400}},
        "application/json",
        "max_tokens is too large",
        id="openai-error-object",
    ),
    pytest.param(
        400,
        {"object": "error", "message": "older vLLM said no", "type": "BadRequestError"},
        "application/json",
        "older vLLM said no",
        id="older-vllm-message",
    ),
    pytest.param(404, {"detail": "Not Found"}, "application/json", "Not Found", id="detail"),
    pytest.param(
        422,
        {"detail": [{"loc": ["body", "messages"], "msg": "Field required", "type": "missing"}]},
        "application/json",
        "Field required",
        id="fastapi-validation",
    ),
    pytest.param(
        500, "upstream exploded in a plain way", "text/plain", "upstream exploded", id="plain"
    ),
    pytest.param(502, HTML_502, "text/html", "502 Bad Gateway", id="html-502"),
    pytest.param(
        503,
        {"error": {"message": "Service is overloaded", "type": "ServiceUnavailableError"}},
        "application/json",
        "Service is overloaded",
        id="503",
    ),
]


@pytest.mark.parametrize(("status", "error_body", "content_type", "expected"), ERROR_SHAPES)
def test_error_bodies_give_the_servers_message(
    server: StandinServer,
    client: Client,
    status: int,
    error_body: Any,
    content_type: str,
    expected: str,
) -> None:
    server.push(Reply(status=status, error_body=error_body, error_content_type=content_type))
    with pytest.raises(HTTPStatusError) as info:
        collect(client.stream_chat(body()))
    error = info.value
    assert error.status == status
    assert expected in str(error)
    assert expected in error.server_message
    assert str(status) in str(error)
    assert "\n" not in str(error)
    assert not isinstance(error, AuthError)


def test_html_error_page_is_named_not_dumped(server: StandinServer, client: Client) -> None:
    server.push(Reply(status=502, error_body=HTML_502, error_content_type="text/html"))
    with pytest.raises(HTTPStatusError) as info:
        collect(client.stream_chat(body()))
    message = str(info.value)
    assert "HTML page" in message
    assert "502 Bad Gateway" in message
    assert "<" not in message
    assert "nginx" not in message


def test_error_after_a_delay_still_reads_the_body(server: StandinServer, client: Client) -> None:
    server.push(Reply(status=429, error_body={"error": {"message": "slow down"}}, hang=0.2))
    with pytest.raises(HTTPStatusError) as info:
        collect(client.stream_chat(body()))
    assert info.value.status == 429
    assert "slow down" in str(info.value)


@pytest.mark.parametrize(
    ("source", "says"),
    [
        ("flag", "--api-key"),
        ("environment", "OPENAI_API_KEY"),
        ("none", "the server wants an API key"),
    ],
)
def test_auth_error_says_where_the_key_came_from(
    server_factory: Callable[..., StandinServer], source: str, says: str
) -> None:
    server = server_factory(api_key="the-right-key")
    key = None if source == "none" else "wrong-key-s3cr3t"
    client = Client(server.url, key, api_key_source=source)
    for call in (client.models, lambda: collect(client.stream_chat(body()))):
        with pytest.raises(AuthError) as info:
            call()
        message = str(info.value)
        assert info.value.status == 401
        assert says in message
        assert "Unauthorized" in message  # the server's own word
        assert "wrong-key-s3cr3t" not in message
        assert "the-right-key" not in message
        assert "wrong-key-s3cr3t" not in repr(info.value)


def test_scripted_401_and_403_are_auth_errors(server: StandinServer, client: Client) -> None:
    server.push(
        Reply(status=401),
        Reply(status=403, error_body={"error": {"message": "model access denied"}}),
    )
    with pytest.raises(AuthError) as first:
        collect(client.stream_chat(body()))
    with pytest.raises(AuthError) as second:
        collect(client.stream_chat(body()))
    assert first.value.status == 401
    assert "Unauthorized" in str(first.value)
    assert second.value.status == 403
    assert "model access denied" in str(second.value)


# -- answers that are not event streams ---------------------------------------------


def test_html_page_with_200_is_a_stream_error(server: StandinServer, client: Client) -> None:
    server.push(Reply(content_type="text/html; charset=utf-8"))
    got, error = run_until_error(client.stream_chat(body()))
    assert isinstance(error, StreamError)
    assert "web page" in str(error)
    assert got == []


def test_full_json_completion_when_server_ignored_stream(
    server: StandinServer, client: Client
) -> None:
    completion = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "standin-model",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "The whole answer at once.",
                    "reasoning_content": "quick thought",
                },
                "finish_reason": "length",
            }
        ],
        "usage": {"prompt_tokens": 7, "completion_tokens": 5, "total_tokens": 12},
    }
    server.push(Reply(content_type="application/json", error_body=completion))
    events = collect(client.stream_chat(body()))
    assert events == [
        ReasoningDelta("quick thought"),
        ContentDelta("The whole answer at once."),
        Finish("length"),
        Usage(7, 5, 12),
    ]


def test_json_error_with_200_is_a_stream_error(server: StandinServer, client: Client) -> None:
    server.push(
        Reply(
            content_type="application/json",
            error_body={"object": "error", "message": "backend crashed", "code": 500},
        )
    )
    _, error = run_until_error(client.stream_chat(body()))
    assert isinstance(error, StreamError)
    assert "backend crashed" in str(error)


# -- transport failures -------------------------------------------------------------


def free_port() -> int:
    """A port on 127.0.0.1 where nothing listens (nor will, while the tests run)."""
    return closed_port()


def test_unreachable_server() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    client = Client(url, connect_timeout=5)
    with pytest.raises(ServerUnreachable) as info:
        client.models()
    assert url in str(info.value)
    assert "--url" in str(info.value)
    with pytest.raises(ServerUnreachable) as info:
        collect(client.stream_chat(body()))
    assert url in str(info.value)
    assert "--url" in str(info.value)


def test_read_timeout(server: StandinServer) -> None:
    server.push(Reply(content="too late", hang=3))
    client = Client(server.url, read_timeout=0.5)
    with pytest.raises(RequestTimeout) as info:
        collect(client.stream_chat(body()))
    assert "--timeout" in str(info.value)


def test_closing_the_generator_aborts_the_request(server: StandinServer, client: Client) -> None:
    server.push(Reply(content="x" * 2000, chunk_chars=1, delay=0.01))
    events = client.stream_chat(body())
    assert next(events) == ContentDelta("x")
    assert next(events) == ContentDelta("x")
    events.close()
    assert wait_until(lambda: server.aborted == 1)
    # The client is still usable afterwards.
    assert text_of(collect(client.stream_chat(body("again")))) == "You said: again"


def test_exception_in_consumer_aborts_the_request(server: StandinServer, client: Client) -> None:
    server.push(Reply(content="y" * 2000, chunk_chars=1, delay=0.01))

    class Stop(Exception):
        pass

    with pytest.raises(Stop):
        for event in client.stream_chat(body()):
            if isinstance(event, ContentDelta):
                raise Stop
    assert wait_until(lambda: server.aborted == 1)


# -- error_message ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "content_type", "expected"),
    [
        (b'{"error": {"message": "bad request", "type": "x"}}', "application/json", "bad request"),
        (b'{"error": "Unauthorized"}', "application/json", "Unauthorized"),
        (b'{"object": "error", "message": "older", "code": 400}', "application/json", "older"),
        (b'{"detail": "Method Not Allowed"}', "application/json", "Method Not Allowed"),
        (
            b'{"detail": [{"loc": ["body", "a"], "msg": "first"}, {"msg": "second"}]}',
            "application/json",
            "first; second",
        ),
        (b"Internal Server Error", "text/plain", "Internal Server Error"),
        (b"  line one\n  line two  \n", "text/plain", "line one line two"),
        (HTML_502.encode(), "text/html", "an HTML page: 502 Bad Gateway"),
        (b"<!DOCTYPE html><html><title>Oops</title></html>", "", "an HTML page: Oops"),
        (b"<html><body>no title</body></html>", "text/html", "an HTML page"),
        (
            b"<head><title>504 Gateway Time-out</title></head><body>x</body>",
            "text/html; charset=utf-8",
            "an HTML page: 504 Gateway Time-out",
        ),
        (b'"just a string"', "application/json", "just a string"),
        (b"", "text/plain", ""),
        ('{"error": {"message": "naïve café"}}'.encode(), "application/json", "naïve café"),
    ],
)
def test_error_message_shapes(raw: bytes, content_type: str, expected: str) -> None:
    assert errors.error_message(raw, content_type) == expected


def test_error_message_of_unknown_json_keeps_the_text() -> None:
    assert errors.error_message(b'{"status": "failed"}') == '{"status": "failed"}'


def test_error_message_is_one_bounded_line() -> None:
    message = errors.error_message(("word " * 500).encode(), "text/plain")
    assert "\n" not in message
    assert len(message) <= 300
    assert " … " in message


def test_a_long_error_message_keeps_its_end_and_cuts_between_words() -> None:
    # The reason is at the end, after a proxy's wrappers: it must survive the cut.
    words = " ".join(f"wrapper{i}" for i in range(80))
    reason = "This model's maximum context length is 4096 tokens."
    message = errors.error_message(f"{words} {reason}".encode(), "text/plain")
    assert len(message) <= 300
    assert message.startswith("wrapper0 wrapper1 ")
    assert message.endswith(reason)
    head, tail = message.split(" … ")
    assert all(re.fullmatch(r"wrapper\d+", w) for w in head.split()), head  # whole words
    assert all(re.fullmatch(r"wrapper\d+|\S+", w) for w in tail.split())
    assert tail.split()[0] in words.split(), tail  # not the end of a word cut in two


LITELLM_CONTEXT = (
    "litellm.BadRequestError: litellm.APIError: APIError: Hosted_vllmException - "
    + json.dumps(vllm_error("This model's maximum context length is 4096 tokens. However, "
                            "you requested 5000 tokens.", 400))
    + ". Received Model Group=qwen\nAvailable Model Group Fallbacks=None"
)  # fmt: skip


def litellm_error(message: str, code: str) -> bytes:
    """LiteLLM's error body: OpenAI's shape, with the status code as a string."""
    body = {"error": {"message": message, "type": None, "param": None, "code": code}}
    return json.dumps(body).encode()


@pytest.mark.parametrize(
    ("message", "headers", "words", "speaker"),
    [
        (
            LITELLM_CONTEXT,
            {},
            "This model's maximum context length is 4096 tokens. However, you requested 5000 "
            "tokens.",
            "upstream",
        ),
        (
            "litellm.BadRequestError: Hosted_vllmException - Error code: 400 - {'object': "
            "'error', 'message': \"This model's maximum context length is 4096 tokens.\", "
            "'type': 'BadRequestError', 'param': None, 'code': 400}",
            {},
            "This model's maximum context length is 4096 tokens.",
            "upstream",
        ),
        (
            "litellm.ServiceUnavailableError: ServiceUnavailableError: OpenAIException - "
            "Upstream request failed: Endpoint is unavailable.. Received Model Group=big\n"
            "Available Model Group Fallbacks=None",
            {},
            "Upstream request failed: Endpoint is unavailable.",
            "upstream",
        ),
        (
            "litellm.RateLimitError: No deployments available for selected model, Try again in "
            "60 seconds. Passed model=qwen. pre-call-checks=False, cooldown_list=[('0b1c', "
            "{'exception_received': 'litellm.RateLimitError: x', 'status_code': '429'})]",
            {},
            "No deployments available for selected model, Try again in 60 seconds.",
            "gateway",
        ),
        ("No connected db.", {}, "No connected db.", "gateway"),
        ("Invalid proxy server token passed.", {"x-litellm-version": "1.74.0"},
         "Invalid proxy server token passed.", "gateway"),
        ("ValueError: litellm is a word", {}, "ValueError: litellm is a word", None),
        ("The model `x` does not exist.", {}, "The model `x` does not exist.", None),
    ],
    ids=["json-inside", "repr-inside", "routing-notes", "cooldown", "no-db", "headers",
         "plain-word", "vllm"],
)  # fmt: skip
def test_litellm_wrappers_come_off_and_say_who_spoke(
    message: str, headers: dict[str, str], words: str, speaker: str | None
) -> None:
    assert errors.server_words(litellm_error(message, "400"), "application/json", headers) == (
        words,
        speaker,
    )


def test_error_message_survives_invalid_utf8() -> None:
    assert errors.error_message(b"bad \xff byte", "text/plain") == "bad \ufffd byte"


def test_error_message_html_title_is_one_line() -> None:
    raw = b"<html><head><title>503 Service\n  Temporarily Unavailable</title></head></html>"
    expected = "an HTML page: 503 Service Temporarily Unavailable"
    assert errors.error_message(raw, "text/html") == expected


# -- tokenize: the chat template's prompt ------------------------------------------


def test_tokenize_chat_asks_the_server_root_and_gives_the_token_strings(
    server_factory: Callable[..., StandinServer],
) -> None:
    server = server_factory(template_opens_think=True)
    client = Client(server.url + "/")  # at /tokenize, not /v1/tokenize
    messages = [{"role": "user", "content": "hi there"}]
    strs = client.tokenize_chat("standin-model", messages, {"reasoning_effort": "low"})
    assert strs is not None and strs[-2:] == ["<think>", "Ċ"]
    assert "".join(strs).startswith("<|im_start|>userĊhiĠthere<|im_end|>")
    assert server.tokenize_requests == [
        {
            "model": "standin-model",
            "messages": messages,
            "add_generation_prompt": True,
            "return_token_strs": True,
            "chat_template_kwargs": {"reasoning_effort": "low"},
        }
    ]
    assert server.requests == []  # no chat request was made
    assert Client("http://127.0.0.1:8000/v1").server_root == "http://127.0.0.1:8000"
    assert Client("http://gpu/vllm/").server_root == "http://gpu/vllm"


class _ScriptedTokenize:
    """A loopback server answering every request with one scripted reply."""

    def __init__(self, status: int, body: bytes, content_type: str, delay: float = 0.0):
        script = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                script.paths.append(self.path)
                time.sleep(script.delay)
                self.send_response(script.status)
                self.send_header("Content-Type", script.content_type)
                self.send_header("Content-Length", str(len(script.body)))
                self.end_headers()
                self.wfile.write(script.body)

            def log_message(self, *args: Any) -> None:
                pass

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                # A client that gave up before a delayed reply (a broken pipe) is what those
                # tests want; printed, its traceback would land in a later test's capsys.
                pass

        self.status, self.body, self.content_type, self.delay = status, body, content_type, delay
        self.paths: list[str] = []
        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.mark.parametrize(
    ("status", "body", "content_type"),
    [
        (404, b'{"detail":"Not Found"}', "application/json"),  # not vLLM
        (405, b'{"detail":"Method Not Allowed"}', "application/json"),
        (501, b"not implemented", "text/plain"),
        (401, b'{"error":"Unauthorized"}', "application/json"),
        (500, b"", "text/plain"),
        (200, b"<html><body>a proxy page</body></html>", "text/html"),
        (200, b"[1, 2]", "application/json"),
        (200, b'{"count": 2, "tokens": [1, 2]}', "application/json"),  # an older vLLM
        (200, b'{"token_strs": null}', "application/json"),
        (200, b'{"token_strs": ["a", 7]}', "application/json"),
        (200, b'{"token_strs": "<think>"}', "application/json"),
    ],
)
def test_tokenize_chat_is_none_for_any_other_answer(
    status: int, body: bytes, content_type: str
) -> None:
    scripted = _ScriptedTokenize(status, body, content_type)
    try:
        client = Client(scripted.url)
        assert client.tokenize_chat("m", [{"role": "user", "content": "x"}]) is None
        assert scripted.paths == ["/tokenize"]
    finally:
        scripted.stop()


def test_tokenize_chat_is_none_when_nothing_answers_or_too_slowly() -> None:
    assert Client(f"http://127.0.0.1:{free_port()}/v1").tokenize_chat("m", []) is None
    scripted = _ScriptedTokenize(200, b'{"token_strs": ["<think>"]}', "application/json", 1.0)
    try:
        started = time.monotonic()
        assert Client(scripted.url).tokenize_chat("m", [], timeout=0.2) is None
        assert time.monotonic() - started < 0.9
        assert Client(scripted.url).tokenize_chat("m", []) == ["<think>"]  # within 2 s
    finally:
        scripted.stop()


# -- the server root: vLLM's paths outside /v1 ---------------------------------------


def test_call_root_reaches_the_paths_vllm_serves_outside_v1(
    server_factory: Callable[..., StandinServer],
) -> None:
    server = server_factory(api_key="sekrit")  # vLLM guards only /v1 paths with the key
    client = Client(server.url)
    assert client.call_root("GET", "/version") == {"version": "0.32.0"}
    assert client.call_root("GET", "/health") == ""  # an empty body is an empty text
    answer = client.call_root("POST", "/tokenize", json_body=body(), timeout=5)
    assert answer["count"] == len(answer["tokens"]) > 0
    assert server.requests == [] and server.headers == []  # nothing went under /v1


@pytest.mark.parametrize(
    ("method", "path", "said"),
    [
        ("GET", "/metrics", "404 Not Found"),  # this stand-in has none
        ("GET", "/tokenize", "405 Method Not Allowed"),
    ],
)
def test_call_root_names_an_endpoint_the_server_lacks(
    server_factory: Callable[..., StandinServer], method: str, path: str, said: str
) -> None:
    server = server_factory(without={"/metrics"})
    root = server.url.removesuffix("/v1")
    with pytest.raises(HTTPStatusError) as info:
        Client(server.url).call_root(method, path)
    assert str(info.value) == (
        f"the server at {root} has no {path} endpoint ({said}); "
        "not vLLM, or behind a proxy that passes on only /v1?"
    )
    assert "usually ends in /v1" not in str(info.value)  # that hint is for --url's paths


def test_call_root_on_a_server_without_the_endpoint(
    server_factory: Callable[..., StandinServer],
) -> None:
    server = server_factory(without={"/version"})
    with pytest.raises(HTTPStatusError) as info:
        Client(server.url).call_root("GET", "/version")
    assert info.value.status == 404
    assert "has no /version endpoint (404 Not Found)" in str(info.value)


def test_call_root_gives_the_servers_message_for_an_unknown_model(server: StandinServer) -> None:
    with pytest.raises(HTTPStatusError) as info:
        Client(server.url).call_root("POST", "/tokenize", json_body=body() | {"model": "nope"})
    assert info.value.status == 404
    assert str(info.value) == "the server answered 404 Not Found: The model `nope` does not exist."


def test_call_root_fails_as_the_api_calls_do() -> None:
    port = free_port()
    with pytest.raises(ServerUnreachable) as info:
        Client(f"http://127.0.0.1:{port}/v1").call_root("GET", "/version")
    assert f"nothing listens on port {port}" in str(info.value)
    scripted = _ScriptedTokenize(200, b'{"token_strs": ["<think>"]}', "application/json", 1.0)
    try:
        with pytest.raises(RequestTimeout) as timed_out:
            Client(scripted.url).call_root("POST", "/tokenize", timeout=0.2)
        assert "did not answer within 0.2 s" in str(timed_out.value)
    finally:
        scripted.stop()
    scripted = _ScriptedTokenize(200, b"{not json", "application/json")
    try:
        with pytest.raises(StreamError) as bad:
            Client(scripted.url).call_root("POST", "/tokenize")
        assert str(bad.value).endswith("/tokenize answered with a body that is not JSON")
    finally:
        scripted.stop()


def test_a_missing_api_path_still_points_at_the_v1_in_the_url(server: StandinServer) -> None:
    with pytest.raises(HTTPStatusError) as info:
        Client(server.url.removesuffix("/v1")).models()
    assert str(info.value).endswith(
        f"(is {server.url.removesuffix('/v1')} the API's base URL? It usually ends in /v1)"
    )

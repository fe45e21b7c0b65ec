"""The stand-in server speaks vLLM's wire shapes (checked with http.client and raw sockets)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from http.client import HTTPConnection, HTTPResponse, IncompleteRead
from pathlib import Path
from typing import Any

import pytest

from tests.processes import argv
from tests.standin import ROUTES, Reply, StandinServer

ROOT = Path(__file__).resolve().parent.parent
HELLO = {"model": "standin-model", "messages": [{"role": "user", "content": "hello"}]}


def connect(server: StandinServer) -> HTTPConnection:
    return HTTPConnection("127.0.0.1", server.port, timeout=10)


def chat(
    conn: HTTPConnection, body: dict[str, Any], headers: dict[str, str] | None = None
) -> tuple[HTTPResponse, bytes]:
    conn.request(
        "POST",
        "/v1/chat/completions",
        json.dumps(body),
        {"Content-Type": "application/json", **(headers or {})},
    )
    response = conn.getresponse()
    return response, response.read()


def data_lines(raw: bytes) -> list[str]:
    """The `data:` payloads of an event stream, tolerant of CRLF, no-space and comments."""
    text = raw.decode("utf-8").replace("\r\n", "\n")
    return [line[5:].removeprefix(" ") for line in text.split("\n") if line.startswith("data:")]


def answer_of(payloads: list[str], field: str = "content") -> str:
    text = []
    for payload in payloads:
        try:
            event = json.loads(payload)
        except ValueError:
            continue
        for choice in event.get("choices", []):
            text.append(choice["delta"].get(field) or "")
    return "".join(text)


def wait_until(predicate: Any, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


def test_models_listing(server: StandinServer) -> None:
    conn = connect(server)
    conn.request("GET", "/v1/models")
    response = conn.getresponse()
    body = json.loads(response.read())
    assert response.status == 200
    assert response.getheader("Content-Type") == "application/json"
    assert body["object"] == "list"
    assert [m["id"] for m in body["data"]] == ["standin-model", "standin-model-large"]
    first = body["data"][0]
    assert first["object"] == "model"
    assert first["owned_by"] == "vllm"
    assert first["root"] == "standin-model"
    assert first["parent"] is None
    assert first["max_model_len"] == 4096
    assert isinstance(first["created"], int)
    assert server.models_calls == 1
    assert server.url == f"http://127.0.0.1:{server.port}/v1"


@pytest.mark.parametrize("include_usage", [False, True])
def test_stream_events_in_order(server: StandinServer, include_usage: bool) -> None:
    body = {**HELLO, "stream": True}
    if include_usage:
        body["stream_options"] = {"include_usage": True}
    response, raw = chat(connect(server), body)
    assert response.status == 200
    assert response.getheader("Content-Type") == "text/event-stream; charset=utf-8"
    assert response.getheader("Cache-Control") == "no-cache"
    assert response.getheader("Transfer-Encoding") == "chunked"
    assert response.getheader("Content-Length") is None

    payloads = data_lines(raw)
    assert payloads[-1] == "[DONE]"
    events = [json.loads(p) for p in payloads[:-1]]
    assert all(e["object"] == "chat.completion.chunk" for e in events)
    assert all(e["model"] == "standin-model" for e in events)
    assert len({e["id"] for e in events}) == 1
    assert events[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    if include_usage:
        *events, usage_event = events
        assert usage_event["choices"] == []
        usage = usage_event["usage"]
        assert usage["prompt_tokens"] >= 1
        assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    # As vLLM does: the end token has no text, so a `stop` comes with an empty delta.
    *middle, finish = events[1:]
    assert finish["choices"][0]["delta"] == {}
    assert finish["choices"][0]["finish_reason"] == "stop"
    assert finish["choices"][0]["stop_reason"] is None
    assert all(e["choices"][0]["finish_reason"] is None for e in middle)
    assert "".join(e["choices"][0]["delta"]["content"] for e in middle) == "You said: hello"
    assert all("usage" not in e for e in events)
    assert server.requests == [body]


def test_keep_alive_reuses_one_connection(server: StandinServer) -> None:
    conn = connect(server)
    for word in ("one", "two"):
        body = {**HELLO, "stream": True, "messages": [{"role": "user", "content": word}]}
        response, raw = chat(conn, body)
        assert response.status == 200
        assert answer_of(data_lines(raw)) == f"You said: {word}"
    conn.request("GET", "/v1/models")
    assert conn.getresponse().read()
    assert server.connections == 1
    assert len(server.requests) == 2


def test_api_key_is_enforced(server_factory: Any) -> None:
    server = server_factory(api_key="sekrit")
    conn = connect(server)
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        response, raw = chat(conn, HELLO, headers)
        assert response.status == 401
        assert json.loads(raw) == {"error": "Unauthorized"}
    conn.request("GET", "/v1/models")
    response = conn.getresponse()
    assert (response.status, json.loads(response.read())) == (401, {"error": "Unauthorized"})
    response, raw = chat(conn, HELLO, {"Authorization": "Bearer sekrit"})
    assert response.status == 200
    assert json.loads(raw)["choices"][0]["message"]["content"] == "You said: hello"
    assert server.headers[-1]["authorization"] == "Bearer sekrit"
    assert server.headers[-1]["Authorization"] == "Bearer sekrit"


def test_unknown_model_and_path(server: StandinServer) -> None:
    conn = connect(server)
    response, raw = chat(conn, {**HELLO, "model": "nope"})
    assert response.status == 404
    assert json.loads(raw) == {
        "error": {
            "message": "The model `nope` does not exist.",
            "type": "NotFoundError",
            "param": "model",
            "code": 404,
        }
    }
    conn.request("GET", "/v1/nothing-here")
    response = conn.getresponse()
    assert response.status == 404
    assert json.loads(response.read()) == {"detail": "Not Found"}
    conn.request("POST", "/v1/chat/completions", b"{not json", {"Content-Type": "x"})
    response = conn.getresponse()
    assert response.status == 400
    assert json.loads(response.read())["error"]["code"] == 400


def test_client_closing_mid_stream_counts_aborted(server: StandinServer) -> None:
    server.push(Reply(content="x" * 500, chunk_chars=1, delay=0.01))
    body = json.dumps({**HELLO, "stream": True}).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
        )
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")
    assert wait_until(lambda: server.aborted == 1)


def test_cut_after_leaves_the_body_incomplete(server: StandinServer) -> None:
    server.push(Reply(content="abcdefghijkl", chunk_chars=2, cut_after=2))
    with pytest.raises(IncompleteRead) as caught:
        chat(connect(server), {**HELLO, "stream": True})
    payloads = data_lines(caught.value.partial)
    assert answer_of(payloads) == "abcd"
    assert "[DONE]" not in payloads


@pytest.mark.parametrize(
    "fault", ["crlf", "no_space", "keepalive_comments", "split_bytes", "bad_json_event"]
)
def test_wire_faults_still_carry_the_answer(server: StandinServer, fault: str) -> None:
    text = "héllo wörld ✓ 日本語 🎉 done"
    server.push(Reply(content=text, reasoning="ümlaut", chunk_chars=3, **{fault: True}))
    response, raw = chat(connect(server), {**HELLO, "stream": True})
    assert response.status == 200
    payloads = data_lines(raw)
    assert answer_of(payloads) == text
    assert answer_of(payloads, "reasoning") == "ümlaut"
    assert payloads[-1] == "[DONE]"
    assert ("{not json" in payloads) is (fault == "bad_json_event")
    assert (b"\r\n" in raw) is (fault == "crlf")
    assert (b": keep-alive" in raw) is (fault == "keepalive_comments")


def test_stream_error_event(server: StandinServer) -> None:
    server.push(Reply(content="partial", stream_error="boom"))
    _, raw = chat(connect(server), {**HELLO, "stream": True})
    payloads = data_lines(raw)
    assert payloads[-1] == "[DONE]"
    assert json.loads(payloads[-2]) == {
        "error": {"message": "boom", "type": "BadRequestError", "param": None, "code": 400}
    }
    assert answer_of(payloads) == "partial"
    assert 'finish_reason":"stop' not in raw.decode()


def test_scripted_error_and_proxy_page(server: StandinServer) -> None:
    server.push(
        Reply(status=503, error_body="overloaded", error_content_type="text/plain"),
        Reply(status=500),
        Reply(content_type="text/html"),
    )
    conn = connect(server)
    response, raw = chat(conn, {**HELLO, "stream": True})
    assert (response.status, raw) == (503, b"overloaded")
    assert response.getheader("Content-Type") == "text/plain"
    response, raw = chat(conn, {**HELLO, "stream": True})
    assert response.status == 500
    assert json.loads(raw)["error"]["type"] == "InternalServerError"
    response, raw = chat(conn, {**HELLO, "stream": True})
    assert response.status == 200
    assert response.getheader("Content-Type") == "text/html"
    assert raw.startswith(b"<html>")
    assert server.connections == 1


def test_non_stream_and_max_tokens(server: StandinServer) -> None:
    server.push(
        Reply(
            content="abcdefgh", reasoning="hmm", reasoning_field="reasoning_content", chunk_chars=1
        )
    )
    _, raw = chat(connect(server), {**HELLO, "max_tokens": 4})
    body = json.loads(raw)
    assert body["object"] == "chat.completion"
    choice = body["choices"][0]
    assert choice["message"]["role"] == "assistant"
    assert choice["message"]["reasoning_content"] == "hmm"
    assert choice["message"]["content"] == "a"
    assert choice["finish_reason"] == "length"
    assert body["usage"]["completion_tokens"] == 4


def test_default_replies(server: StandinServer) -> None:
    def ask(text: Any) -> Reply:
        return server.default_reply({"messages": [{"role": "user", "content": text}]})

    assert ask("hi there").content == "You said: hi there"
    assert ask([{"type": "text", "text": "parts"}]).content == "You said: parts"
    assert ask("long 3").content == "Line 1 of 3.\nLine 2 of 3.\nLine 3 of 3."
    thinking = ask("Think hard")
    assert thinking.reasoning and thinking.content == "Here is my considered answer."
    sample = ask("show me MARKDOWN").content
    assert sample.startswith("# ") and "```python" in sample and "| " in sample


def test_stop_does_not_wait_for_a_hanging_reply() -> None:
    server = StandinServer().start()
    server.push(Reply(hang=60))
    errors: list[BaseException] = []

    def call() -> None:
        try:
            chat(connect(server), {**HELLO, "stream": True})
        except Exception as exc:  # the connection is dropped when the server stops
            errors.append(exc)

    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    server.wait_for_requests(1)
    started = time.monotonic()
    server.stop()
    server.stop()
    assert time.monotonic() - started < 3
    thread.join(5)
    assert not thread.is_alive()
    assert server.aborted == 0


def test_rejects_non_loopback_hosts() -> None:
    with pytest.raises(ValueError):
        StandinServer(host="0.0.0.0")


def test_run_mode_passes_the_url() -> None:
    command = [sys.executable, "-m", "tests.standin", "--run", sys.executable, "-c"]
    result = subprocess.run(
        argv([*command, "import sys; print(sys.argv[-1])"]),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("http://127.0.0.1:")
    assert result.stdout.strip().endswith("/v1")
    assert result.stderr == ""


def test_run_mode_returns_the_child_status() -> None:
    command = [sys.executable, "-m", "tests.standin", "--run", sys.executable, "-c"]
    result = subprocess.run(
        argv([*command, "import sys; sys.exit(3)"]), cwd=ROOT, capture_output=True, timeout=30
    )
    assert result.returncode == 3


def tokenize(conn: HTTPConnection, body: Any) -> tuple[int, Any]:
    conn.request("POST", "/tokenize", json.dumps(body), {"Content-Type": "application/json"})
    response = conn.getresponse()
    return response.status, json.loads(response.read())


def test_tokenize_gives_the_chat_prompt_like_vllm(server_factory: Any) -> None:
    # At the root and, as vLLM's API key middleware guards /v1 paths only, without the key.
    server = server_factory(api_key="sekrit", template_opens_think={"standin-model"})
    conn = connect(server)
    status, answer = tokenize(conn, {**HELLO, "return_token_strs": True})
    assert status == 200
    assert set(answer) == {"count", "max_model_len", "tokens", "token_strs"}
    assert answer["count"] == len(answer["tokens"]) == len(answer["token_strs"])
    assert answer["max_model_len"] == 4096
    assert "".join(answer["token_strs"]) == (
        "<|im_start|>userĊhello<|im_end|>Ċ<|im_start|>assistantĊ<think>Ċ"
    )
    closed = {
        **HELLO,
        "return_token_strs": True,
        "chat_template_kwargs": {"enable_thinking": False},
    }
    assert "".join(tokenize(conn, closed)[1]["token_strs"]).endswith("<think>ĊĊ</think>ĊĊ")
    other = {**HELLO, "model": "standin-model-large", "return_token_strs": True}
    assert "".join(tokenize(conn, other)[1]["token_strs"]).endswith("assistantĊ")
    assert tokenize(conn, HELLO)[1]["token_strs"] is None  # only when asked for
    assert tokenize(conn, {**HELLO, "model": "nope"})[0] == 404
    assert len(server.tokenize_requests) == 5
    assert server.requests == [] and server.headers == []


def test_tokenize_can_be_missing(server_factory: Any) -> None:
    server = server_factory(serves_tokenize=False)
    status, answer = tokenize(connect(server), HELLO)
    assert (status, answer) == (404, {"detail": "Not Found"})
    assert server.tokenize_requests == [HELLO]


# ---- routes: one table ---------------------------------------------------------------------


def request(
    server: StandinServer, method: str, path: str, headers: dict[str, str] | None = None
) -> tuple[int, Any, HTTPResponse]:
    conn = connect(server)
    body = json.dumps(HELLO) if method == "POST" else None
    conn.request(method, path, body, {"Content-Type": "application/json", **(headers or {})})
    response = conn.getresponse()
    raw = response.read()
    conn.close()
    if "json" not in (response.getheader("Content-Type") or ""):  # /metrics, /health
        return response.status, raw.decode() if raw else None, response
    return response.status, json.loads(raw) if raw else None, response


def test_version_is_at_the_root_like_vllms(server_factory: Any) -> None:
    server = server_factory(api_key="sekrit")  # root paths need no key
    status, answer, response = request(server, "GET", "/version")
    assert (status, answer) == (200, {"version": "0.32.0"})
    assert response.getheader("Content-Type") == "application/json"
    assert request(server, "GET", "/v1/version")[0] == 401  # /v1 is guarded, known or not
    assert request(server, "GET", "/v1/version", {"Authorization": "Bearer sekrit"})[:2] == (
        404,
        {"detail": "Not Found"},
    )


def test_every_route_answers_another_method_with_fastapis_405(server: StandinServer) -> None:
    for path, (method, _handler) in ROUTES.items():
        other = "POST" if method == "GET" else "GET"
        status, answer, response = request(server, other, path)
        assert (status, answer) == (405, {"detail": "Method Not Allowed"}), path
        assert response.getheader("Allow") == method
        assert request(server, method, path)[0] == 200, path
    assert request(server, "DELETE", "/v1/models")[0] == 405
    assert request(server, "GET", "/no/such/path")[:2] == (404, {"detail": "Not Found"})
    assert server.requests == [HELLO]  # the one POST /v1/chat/completions


def test_a_server_can_lack_any_route(server_factory: Any) -> None:
    server = server_factory(without={"/version", "/health"})
    for path in ("/version", "/health"):
        assert request(server, "GET", path)[:2] == (404, {"detail": "Not Found"}), path
    assert request(server, "GET", "/v1/models")[0] == 200

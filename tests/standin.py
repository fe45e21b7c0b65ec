"""A stand-in for vLLM's OpenAI-compatible server, for tests and ``make demo``.

Serves the paths in :data:`ROUTES` (``GET /v1/models``, ``POST /v1/chat/completions``,
and at the root, as vLLM does, ``GET /health``, ``GET /version``, ``GET /metrics`` and
``POST /tokenize``)
on a loopback address with the wire shapes vLLM uses: server-sent events over chunked
transfer encoding, vLLM's error bodies, FastAPI's 404 and 405 bodies. Each chat
request answers with the next scripted :class:`Reply` (see :meth:`StandinServer.push`), or
with :meth:`StandinServer.default_reply`.

Standard library only, so ``python -m tests.standin`` runs anywhere.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import ipaddress
import itertools
import json
import math
import os
import re
import select
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = [
    "MARKDOWN_SAMPLE",
    "ROUTES",
    "VLLM_VERSION",
    "Reply",
    "StandinServer",
    "demo_reply",
    "litellm_error",
    "main",
    "vllm_error",
]

# Pause between the pieces of a split_bytes event, so they reach the client separately.
_SPLIT_PAUSE = 0.002
VLLM_VERSION = "0.32.0"  # what GET /version says, as vLLM says its own

MARKDOWN_SAMPLE = """\
# Streaming Markdown demo

This answer comes from the **standin server**, a small stand-in for vLLM. It arrives in
little pieces so you can watch `vllm-chat` render Markdown while it streams — café, naïve
and 日本語 included, to keep the UTF-8 honest.

## What it shows

- **Bold** and *italic* text
- `inline code` spans
- Lists, a table and a fenced code block
- A closing paragraph

## Things to try

1. Ask anything and watch the answer stream.
2. Ask for `long 30` to get thirty numbered lines.
3. Mention *think* to see reasoning before the answer.

| Feature   | Supported | Notes                     |
|-----------|-----------|---------------------------|
| Streaming | yes       | server-sent events        |
| Markdown  | yes       | rendered as it arrives    |
| Reasoning | yes       | streamed before the reply |

```python
def fibonacci(n: int) -> list[int]:
    \"\"\"Return the first n Fibonacci numbers.\"\"\"
    numbers = [0, 1]
    while len(numbers) < n:
        numbers.append(numbers[-1] + numbers[-2])
    return numbers[:n]


print(fibonacci(10))
```

That is all for this demo. Everything above comes from a script, not a model, so it is
the same every time: handy for tests, screenshots and trying the client without a GPU."""


@dataclass
class Reply:
    """One scripted answer; fields control faults."""

    content: str = ""
    """The answer text, split into deltas of ``chunk_chars`` characters."""
    reasoning: str = ""
    """Streamed before ``content`` as reasoning deltas."""
    reasoning_field: str = "reasoning"
    """``"reasoning"`` (current vLLM) or ``"reasoning_content"`` (older vLLM, others)."""
    chunk_chars: int = 4
    """Characters per content/reasoning delta."""
    delay: float = 0.0
    """Seconds to sleep between deltas."""
    first_token_delay: float = 0.0
    """Seconds to sleep before the first chunk (after the headers are sent)."""
    status: int = 200
    """Non-200: send ``error_body`` with this status instead of an answer."""
    error_body: str | bytes | dict | None = None
    """dict -> JSON; str/bytes -> sent as-is; None -> vLLM's error body for ``status``."""
    error_content_type: str = "application/json"
    """Content-Type of the error reply, e.g. ``text/plain`` or ``text/html``."""
    content_type: str = "text/event-stream"
    """For a 200; anything else fakes a proxy page: body = ``error_body`` or a small HTML page.
    With ``text/event-stream`` and an ``error_body``, that body is the whole scripted stream."""
    send_done: bool = True
    """Send ``data: [DONE]`` at the end of the stream."""
    open_after_done: float = 0.0
    """Keep the body open this long after ``[DONE]`` before ending it (a lingering proxy)."""
    cut_after: int | None = None
    """Close the connection abruptly after this many content deltas (no finish, no [DONE])."""
    crlf: bool = False
    """Use ``\\r\\n`` line endings in the event stream."""
    no_space: bool = False
    """Write ``data:{...}`` without the space."""
    keepalive_comments: bool = False
    """Interleave ``: keep-alive`` comment lines between events."""
    split_bytes: bool = False
    """Write every event in several small writes, splitting inside multi-byte characters."""
    bad_json_event: bool = False
    """Insert one ``data: {not json`` event in the middle of the content."""
    stream_error: str | None = None
    """After the content, send vLLM's in-stream error event with this message, then [DONE]."""
    gateway_error: str | None = None
    """After the content, send a LiteLLM gateway's in-stream error event with this message
    and end the body there, as LiteLLM does: no finish reason, no usage, no [DONE]."""
    finish_reason: str = "stop"
    tool_calls: list[tuple[str, str]] = field(default_factory=list)
    """(name, arguments) of tool calls streamed after the content, as vLLM streams them: a
    first delta with the call's id, type, index and name, then the arguments in pieces of
    ``tool_chunk_chars`` (vLLM's hermes parser: a few characters each)."""
    tool_chunk_chars: int = 1
    usage: bool | None = None
    """None: usage chunk iff the request had ``stream_options.include_usage``; bools force it."""
    hang: float = 0.0
    """Sleep this long after the headers before anything else (a silent server)."""
    cached_tokens: int | None = None
    """Prompt tokens found in the prefix cache: sent as usage's ``prompt_tokens_details``
    (as vLLM does with ``--enable-prompt-tokens-details``) and counted in ``/metrics``."""
    headers: dict[str, str] = field(default_factory=dict)
    """Extra response headers, e.g. ``{"Retry-After": "1"}``."""
    logprobs: list[float] | None = None
    """When the request asks for ``logprobs``: the log probability of each delta's token
    (one token per delta, cycled; None: -0.01 each), sent as vLLM 0.32 sends them (see
    ``_token_logprobs``)."""
    ignore_logprobs: bool = False
    """Send ``"logprobs": null`` even when they are asked for (a server that ignores them)."""
    split_characters: bool = False
    """A delta that is one non-ASCII character comes after a token for the first part of
    its bytes: an empty delta with vLLM 0.32's token for it (``""``, no bytes); the
    delta's own token then carries the whole character, as vLLM corrects it."""


_ERROR_TYPES = {
    400: "BadRequestError",
    401: "AuthenticationError",
    403: "PermissionDeniedError",
    404: "NotFoundError",
    422: "UnprocessableEntityError",
    429: "RateLimitError",
    500: "InternalServerError",
    501: "NotImplementedError",
    503: "ServiceUnavailableError",
}


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def vllm_error(message: str, status: int, param: str | None = None) -> dict[str, Any]:
    """vLLM's error body: ``{"error": {"message", "type", "param", "code"}}``."""
    kind = _ERROR_TYPES.get(status) or "".join(_phrase(status).title().split()) + "Error"
    return {"error": {"message": message, "type": kind, "param": param, "code": status}}


def litellm_error(message: str, status: int, kind: str | None = None) -> dict[str, Any]:
    """A LiteLLM gateway's error body: OpenAI's shape, the code a string, ``type`` often null."""
    return {"error": {"message": message, "type": kind, "param": None, "code": str(status)}}


def _permission(created: int) -> dict[str, Any]:
    """A model's `permission` entry, as vLLM lists it (nothing reads it)."""
    return {
        "id": f"modelperm-{created:x}", "object": "model_permission", "created": created,
        "allow_create_engine": False, "allow_sampling": True, "allow_logprobs": True,
        "allow_search_indices": False, "allow_view": True, "allow_fine_tuning": False,
        "organization": "*", "group": None, "is_blocking": False,
    }  # fmt: skip


def _dumps(obj: Any) -> str:
    # Compact separators, like pydantic's model_dump_json and Starlette's JSONResponse.
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


MAX_LOGPROBS = 20  # vLLM's default --max-logprobs
# The alternatives the stand-in offers for each token; "" is vLLM 0.32's token for a
# token that is the first part of a character's bytes.
_ALTERNATIVES = ("", " maybe", "\n", " perhaps", "!")


def _logprobs_refusal(req: dict) -> str | None:
    """vLLM's words refusing the request's logprobs, or None."""
    top = req.get("top_logprobs")
    if top is not None and not req.get("logprobs"):
        return "when using `top_logprobs`, `logprobs` must be set to true. (parameter=top_logprobs)"
    if isinstance(top, int) and top > MAX_LOGPROBS:
        return (f"Requested sample logprobs of {top}, which is greater than max allowed: "
                f"{MAX_LOGPROBS} (parameter=logprobs, value={top})")  # fmt: skip
    return None


def _token_logprobs(req: dict, reply: Reply, index: int, text: str) -> dict[str, Any] | None:
    """A chunk's ``logprobs`` for its one token ``text``, as vLLM 0.32 sends them: the
    sampled token first among its ``top_logprobs`` (however probable), the others most
    probable first; ``bytes`` the token's UTF-8. None when not asked for (or ignored)."""
    if not req.get("logprobs") or reply.ignore_logprobs:
        return None
    logprob = reply.logprobs[index % len(reply.logprobs)] if reply.logprobs else -0.01
    top = req.get("top_logprobs") or 0

    def token(text: str, logprob: float) -> dict[str, Any]:
        return {"token": text, "logprob": logprob, "bytes": list(text.encode())}

    rest = max(1e-9, 1 - math.exp(logprob))
    names = [*_ALTERNATIVES, *(f" alt{n}" for n in range(top))]
    others = [token(name, math.log(rest * 0.5 ** (n + 1))) for n, name in enumerate(names)]
    sampled = token(text, logprob)
    return {"content": [{**sampled, "top_logprobs": [sampled, *others][:top]}]}


def _pieces(text: str, size: int) -> list[str]:
    size = max(1, size)
    return [text[i : i + size] for i in range(0, len(text), size)]


def _text_of(content: Any) -> str:
    """The text of a message's content: a string, or the text parts of a list."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    texts = []
    for part in content:
        if isinstance(part, str):
            texts.append(part)
        elif isinstance(part, dict) and isinstance(part.get("text"), str):
            texts.append(part["text"])
    return "\n".join(texts)


def _last_user_text(messages: Any) -> str:
    if not isinstance(messages, list):
        return ""
    dicts = [m for m in messages if isinstance(m, dict)]
    for message in reversed(dicts):
        if message.get("role") == "user":
            return _text_of(message.get("content"))
    return _text_of(dicts[-1].get("content")) if dicts else ""


def _prompt_tokens(messages: Any) -> int:
    if not isinstance(messages, list):
        return 1
    chars = sum(len(_text_of(m.get("content"))) for m in messages if isinstance(m, dict))
    return max(1, chars // 4)


def _bpe_pieces(text: str) -> list[str]:
    """`text` cut into word tokens spelt like byte-level BPE's: ``Ġ`` space, ``Ċ`` newline."""
    spelt = text.replace(" ", "Ġ").replace("\n", "Ċ")
    return re.findall(r"[ĠĊ]*[^ĠĊ]+|[ĠĊ]+", spelt)


def _split_points(data: bytes) -> list[int]:
    """Byte offsets that cut inside every multi-byte character, plus a few ASCII cuts."""
    points = {3, len(data) // 2, len(data) - 1}
    for i, byte in enumerate(data):
        if byte >= 0xC0:  # lead byte of a multi-byte UTF-8 sequence
            points.add(i + 1)
    return sorted(p for p in points if 0 < p < len(data))


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _Headers(dict):
    """Request headers with lower-cased keys and case-insensitive lookups."""

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())

    def __contains__(self, key: object) -> bool:
        return super().__contains__(key.lower() if isinstance(key, str) else key)

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key.lower(), default)


class _Stopped(Exception):
    """The server is stopping; abandon the response."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], standin: StandinServer) -> None:
        self.standin = standin
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # Skip HTTPServer.server_bind's getfqdn(), which can stall on a reverse DNS lookup.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def handle_error(self, request: Any, client_address: Any) -> None:
        if os.environ.get("STANDIN_LOG") == "1":
            super().handle_error(request, client_address)


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    # ---- plumbing -------------------------------------------------------------------------

    def version_string(self) -> str:
        return "uvicorn"

    def log_message(self, format: str, *args: Any) -> None:
        if os.environ.get("STANDIN_LOG") == "1":
            super().log_message(format, *args)

    def setup(self) -> None:
        super().setup()
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.standin._connected(self.connection)

    def handle(self) -> None:
        try:
            super().handle()
        except OSError:  # the client went away, or stop() shut the socket
            self.close_connection = True

    def finish(self) -> None:
        try:
            with contextlib.suppress(OSError):
                super().finish()
        finally:
            self.server.standin._disconnected(self.connection)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            data = bytearray()
            while True:
                size = int(self.rfile.readline(65537).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return bytes(data)
                data += self.rfile.read(size)
                self.rfile.readline()
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.close_connection = True
            return b""
        return self.rfile.read(length) if length > 0 else b""

    def _pause(self, seconds: float) -> None:
        """Sleep, but raise _Stopped as soon as the server stops."""
        stopping = self.server.standin._stopping
        if stopping.is_set() or (seconds > 0 and stopping.wait(seconds)):
            raise _Stopped

    def _pause_watching(self, seconds: float) -> None:
        """Like :meth:`_pause`, but a client that hangs up meanwhile ends the reply at once.

        vLLM aborts a request whose client went away while it waited for the first
        token; the standin does too, raising ``ConnectionAbortedError`` (counted in
        ``aborted``) instead of sleeping on until its next write fails.
        """
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            self._pause(0)  # _Stopped as soon as the server stops
            readable, _, _ = select.select([self.connection], [], [], min(remaining, 0.05))
            if not readable:
                continue
            self._pause(0)
            if not self.connection.recv(1, socket.MSG_PEEK):
                raise ConnectionAbortedError("the client hung up")
            self._pause(deadline - time.monotonic())  # it sent more data: just wait
            return
        self._pause(0)

    def _send_static(
        self,
        status: int,
        body: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
        wait: float = 0.0,
        cut: bool = False,
    ) -> None:
        self.send_response(status)
        if content_type:  # vLLM's /health answers with no body and no content type
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        try:
            self._pause(wait)
        except _Stopped:
            self.close_connection = True
            return
        if cut:
            self.wfile.write(body[: len(body) // 2])
            self._cut()
        else:
            self.wfile.write(body)

    def _send_json(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        self._send_static(status, _dumps(obj).encode(), "application/json", headers)

    def _cut(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    # ---- routes ---------------------------------------------------------------------------

    def _dispatch(self, method: str) -> None:
        standin = self.server.standin
        body = self._read_body()
        path = self.path.split("?", 1)[0]
        if path.startswith("/v1"):
            standin._record_headers(_Headers((k.lower(), v) for k, v in self.headers.items()))
            # vLLM's auth middleware guards every /v1 path, known or not, before routing.
            key = standin.api_key
            if key is not None and self.headers.get("Authorization") != f"Bearer {key}":
                self._send_json(401, {"error": "Unauthorized"})
                return
        if path == "/tokenize":
            standin._record_tokenize(body)  # also where it is missing: it was asked for
        route = None if path in standin._missing() else ROUTES.get(path)
        if route is None:
            self._send_json(404, {"detail": "Not Found"})
        elif route[0] != method:
            self._send_json(405, {"detail": "Method Not Allowed"}, {"Allow": route[0]})
        else:
            route[1](self, body)

    def _health(self, raw: bytes) -> None:
        self._send_static(self.server.standin.health_status, b"", "")

    def _version(self, raw: bytes) -> None:
        self._send_json(200, {"version": VLLM_VERSION})

    def _models(self, raw: bytes) -> None:
        standin = self.server.standin
        with standin._lock:
            standin.models_calls += 1
        time.sleep(standin.models_delay)
        created = int(time.time())
        data = [
            {
                "id": model,
                "object": "model",
                "created": created,
                "owned_by": "vllm",
                "root": model,
                "parent": None,
                "max_model_len": standin.max_model_len,
                "permission": [_permission(created)],
            }
            for model in list(standin.models)
        ]
        # LoRA adapters come after the base models, as vLLM lists them: a card without
        # its own max_model_len, whose `root` is the adapter's path, `parent` its base.
        data += [
            {**data[0], "id": name, "root": f"/adapters/{name}", "parent": base,
             "max_model_len": None, "permission": [_permission(created)]}
            for name, base in dict(standin.loras).items()
        ] if data else []  # fmt: skip
        self._send_json(200, {"object": "list", "data": data})

    def _metrics(self, raw: bytes) -> None:
        standin = self.server.standin
        body = standin.metrics_body
        text = standin.metrics_text() if body is None else body
        self._send_static(200, text.encode(), "text/plain; version=1.0.0; charset=utf-8")

    def _tokenize(self, raw: bytes) -> None:
        """vLLM's chat tokenization: the prompt the chat template makes, as tokens.

        The template is ChatML; with ``template_opens_think`` its generation prompt
        ends in ``<think>\\n`` (like DeepSeek-R1's), and ``enable_thinking: false`` in
        ``chat_template_kwargs`` closes an empty block instead (like Qwen3's).
        Token strings are spelt the byte-level BPE way: ``Ġ`` a space, ``Ċ`` a newline.
        """
        standin = self.server.standin
        if standin.tokenize_gate is not None:
            standin.tokenize_gate.wait(30)
        try:
            req = json.loads(raw)
        except ValueError as exc:
            self._send_json(400, vllm_error(f"Invalid JSON in request body: {exc}", 400))
            return
        if not isinstance(req, dict):
            self._send_json(400, vllm_error("Request body must be a JSON object.", 400))
            return
        messages, model = req.get("messages"), req.get("model")
        if not isinstance(messages, list) and not isinstance(req.get("prompt"), str):
            self._send_json(400, vllm_error("messages: must be a list", 400, "messages"))
            return
        if model is not None and not standin._serves(model):
            message = f"The model `{model}` does not exist."
            self._send_json(404, vllm_error(message, 404, "model"))
            return
        kwargs = req.get("chat_template_kwargs") or {}
        strs: list[str] = []
        if not isinstance(messages, list):  # vLLM's other form: a prompt, no template
            strs = _bpe_pieces(req["prompt"])
            messages = []
            req = {**req, "add_generation_prompt": False}
        for message in messages:
            if isinstance(message, dict):
                role = str(message.get("role"))
                text = _text_of(message.get("content"))
                strs += ["<|im_start|>", role, "Ċ", *_bpe_pieces(text), "<|im_end|>", "Ċ"]
        if req.get("add_generation_prompt", True):
            strs += ["<|im_start|>", "assistant", "Ċ"]
            if isinstance(kwargs, dict) and kwargs.get("enable_thinking") is False:
                strs += ["<think>", "ĊĊ", "</think>", "ĊĊ"]
            elif standin._opens_think(model):
                strs += ["<think>", "Ċ"]
        answer: dict[str, Any] = {
            "count": len(strs),
            "max_model_len": standin.max_model_len,
            "tokens": [1000 + i for i in range(len(strs))],
            "token_strs": strs if req.get("return_token_strs") else None,
        }
        self._send_json(200, answer)

    def _chat(self, raw: bytes) -> None:
        standin = self.server.standin
        try:
            req = json.loads(raw)
        except ValueError as exc:  # includes JSONDecodeError and UnicodeDecodeError
            self._send_json(400, vllm_error(f"Invalid JSON in request body: {exc}", 400))
            return
        if not isinstance(req, dict):
            self._send_json(400, vllm_error("Request body must be a JSON object.", 400))
            return
        standin._record_request(req)
        messages, model = req.get("messages"), req.get("model")
        if not isinstance(messages, list) or not messages:
            message = "messages: must be a non-empty list"
            self._send_json(400, vllm_error(message, 400, "messages"))
            return
        if not isinstance(model, str):
            self._send_json(400, vllm_error("model: must be a string", 400, "model"))
            return
        if not standin._serves(model):
            message = f"The model `{model}` does not exist."
            self._send_json(404, vllm_error(message, 404, "model"))
            return
        limit = req.get("max_tokens")
        if isinstance(limit, int) and limit > standin.max_model_len:
            message = (
                f"max_tokens={limit} cannot be greater than max_model_len="
                f"{standin.max_model_len}. Please request fewer output tokens. "
                f"(parameter=max_tokens, value={limit})"
            )
            self._send_json(400, vllm_error(message, 400, "max_tokens"))
            return
        if (refusal := _logprobs_refusal(req)) is not None:
            if req.get("stream") is True and refusal.startswith("Requested sample logprobs"):
                # vLLM checks the number in the engine: after the 200, as the whole stream.
                body = f"data: {_dumps(vllm_error(refusal, 400, 'logprobs'))}\n\ndata: [DONE]\n\n"
                self._send_static(200, body.encode(), "text/event-stream")
            else:
                self._send_json(400, vllm_error(refusal, 400, "logprobs"))
            return
        reply = standin._next_reply(req)
        if reply.status != 200:
            self._error_reply(reply)
        elif (
            reply.content_type.split(";")[0].strip().lower() != "text/event-stream"
            or reply.error_body is not None  # a scripted body, sent as it is
        ):
            page = b"<html><head><title>Gateway</title></head><body>Proxy page</body></html>"
            body = page if reply.error_body is None else _encode_body(reply.error_body)
            wait = reply.hang + reply.first_token_delay
            self._send_static(200, body, reply.content_type, reply.headers, wait)
        else:
            standin._serving(req, reply, +1)
            try:
                if req.get("stream") is True:
                    self._stream(req, reply)
                else:
                    self._complete(req, reply)
            finally:
                standin._serving(req, reply, -1)

    def _error_reply(self, reply: Reply) -> None:
        if reply.error_body is not None:
            body = _encode_body(reply.error_body)
        elif reply.status == 401:
            body = _dumps({"error": "Unauthorized"}).encode()
        else:
            message = f"{_phrase(reply.status)} (scripted by the standin server)"
            body = _dumps(vllm_error(message, reply.status)).encode()
        wait = reply.hang + reply.first_token_delay
        self._send_static(reply.status, body, reply.error_content_type, reply.headers, wait)

    # ---- answers --------------------------------------------------------------------------

    @staticmethod
    def _plan(req: dict, reply: Reply) -> tuple[list[tuple[str, str]], str]:
        """The (field, text) deltas to send and the finish reason, after max_tokens."""
        deltas = [(reply.reasoning_field, p) for p in _pieces(reply.reasoning, reply.chunk_chars)]
        deltas += [("content", p) for p in _pieces(reply.content, reply.chunk_chars)]
        limit = req.get("max_completion_tokens")
        if limit is None:
            limit = req.get("max_tokens")
        if isinstance(limit, int) and not isinstance(limit, bool) and 0 <= limit < len(deltas):
            return deltas[:limit], "length"
        return deltas, reply.finish_reason

    @staticmethod
    def _usage(req: dict, completion: int, cached: int | None = None) -> dict[str, Any]:
        prompt = _prompt_tokens(req.get("messages"))
        usage: dict[str, Any] = {
            "prompt_tokens": prompt,
            "total_tokens": prompt + completion,
            "completion_tokens": completion,
        }
        if cached is not None:
            usage["prompt_tokens_details"] = {"cached_tokens": cached}
        return usage

    def _complete(self, req: dict, reply: Reply) -> None:
        deltas, finish = self._plan(req, reply)
        content = "".join(text for key, text in deltas if key == "content")
        reasoning = "".join(text for key, text in deltas if key != "content") or None
        # vLLM 0.32 sends no `tool_calls` when there are none (tests/vllm/samples).
        message: dict[str, Any] = {"role": "assistant", "content": content}
        message[reply.reasoning_field] = reasoning
        if reply.tool_calls:
            message["tool_calls"] = [
                {"id": f"chatcmpl-tool-{i}", "type": "function",
                 "function": {"name": name, "arguments": arguments}}
                for i, (name, arguments) in enumerate(reply.tool_calls)
            ]  # fmt: skip
        payload: dict[str, Any] = {
            "id": f"chatcmpl-{self.server.standin._next_id()}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": req["model"],
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": finish,
                    "stop_reason": None,
                }
            ],
        }
        if reply.usage is not False:
            payload["usage"] = self._usage(req, len(deltas), reply.cached_tokens)
        self._send_static(
            200,
            _dumps(payload).encode(),
            "application/json",
            reply.headers,
            wait=reply.hang + reply.first_token_delay,
            cut=reply.cut_after is not None,
        )

    def _stream(self, req: dict, reply: Reply) -> None:
        standin = self.server.standin
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        try:
            self._stream_body(req, reply)
        except _Stopped:
            self.close_connection = True
        except OSError:
            self.close_connection = True
            if not standin._stopping.is_set():
                with standin._changed:
                    standin.aborted += 1
                    standin._changed.notify_all()

    def _stream_body(self, req: dict, reply: Reply) -> None:
        nl = "\r\n" if reply.crlf else "\n"
        prefix = "data:" if reply.no_space else "data: "
        written = 0

        def write(data: bytes) -> None:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

        def send(payload: str) -> None:
            nonlocal written
            if reply.keepalive_comments and written:
                write(f": keep-alive{nl}{nl}".encode())
            data = f"{prefix}{payload}{nl}{nl}".encode()
            if reply.split_bytes:
                start = 0
                for point in [*_split_points(data), len(data)]:
                    if start:
                        self._pause(_SPLIT_PAUSE)
                    write(data[start:point])
                    start = point
            else:
                write(data)
            written += 1

        chunk_id = f"chatcmpl-{self.server.standin._next_id()}"
        created = int(time.time())

        def chunk(choices: list[dict[str, Any]], **extra: Any) -> str:
            head = {"id": chunk_id, "object": "chat.completion.chunk", "created": created}
            return _dumps({**head, "model": req["model"], "choices": choices, **extra})

        def choice(
            delta: dict[str, Any], finish: str | None = None, *, first: bool = False,
            logprobs: Any = None,
        ) -> list[dict[str, Any]]:  # fmt: skip
            # As vLLM sends them (tests/vllm/samples): `token_ids` on every chunk but the
            # first, `stop_reason` with the finish reason.
            item = {"index": 0, "delta": delta, "logprobs": logprobs, "finish_reason": finish}
            if finish is not None:
                item["stop_reason"] = None
            if not first:
                item["token_ids"] = None
            return [item]

        stream_options = req.get("stream_options")
        wants = isinstance(stream_options, dict) and bool(stream_options.get("include_usage"))
        sends_usage = reply.usage if reply.usage is not None else wants
        fingerprint = {"system_fingerprint": "vllm-0.32.0-standin"}

        deltas, finish = self._plan(req, reply)
        n_content = sum(1 for key, _ in deltas if key == "content")
        bad_at = n_content // 2 if reply.bad_json_event else None
        sent_content = 0

        def cut_now() -> bool:
            return reply.cut_after is not None and sent_content >= reply.cut_after

        self._pause_watching(reply.hang)
        self._pause_watching(reply.first_token_delay)
        send(chunk(choice({"role": "assistant", "content": ""}, first=True), **_PROMPT_ECHO))
        # vLLM puts a `length` finish on the last token's chunk; a `stop` (the end token,
        # which has no text) comes in a chunk of its own with an empty delta.
        ends_well = reply.stream_error is None and reply.gateway_error is None
        ends_well = ends_well and reply.cut_after is None and finish == "length"
        ends_well = ends_well and not reply.tool_calls
        finished = False
        for index, (key, text) in enumerate(deltas):
            if key == "content":
                if cut_now():
                    self._cut()
                    return
                if sent_content == bad_at:
                    send("{not json")
                    bad_at = None
            if index:
                self._pause(reply.delay)
            logprobs = _token_logprobs(req, reply, index, text)
            if logprobs and reply.split_characters and len(text) == 1 and ord(text) > 127:
                part = _token_logprobs(req, reply, index, "")
                send(chunk(choice({key: ""}, logprobs=part)))
            if ends_well and index == len(deltas) - 1 and bad_at is None:
                extra = {} if sends_usage else fingerprint
                send(chunk(choice({key: text}, finish, logprobs=logprobs), **extra))
                finished = True
            else:
                send(chunk(choice({key: text}, logprobs=logprobs)))
            if key == "content":
                sent_content += 1
        if cut_now():
            self._cut()
            return
        for index, (name, arguments) in enumerate(reply.tool_calls):
            head = {"id": f"chatcmpl-tool-{chunk_id[9:]}{index}", "type": "function",
                    "index": index, "function": {"name": name}}  # fmt: skip
            send(chunk(choice({"content": None, "tool_calls": [head]})))
            for piece in _pieces(arguments, reply.tool_chunk_chars):
                self._pause(reply.delay)
                call = {"index": index, "function": {"arguments": piece}}
                send(chunk(choice({"content": None, "tool_calls": [call]})))
        if bad_at is not None:
            send("{not json")
        if reply.gateway_error is not None:
            # LiteLLM's proxy: the upstream's failure as one event, then the end of the body.
            error = litellm_error(reply.gateway_error, 500)
            error["error"].update(type="None", param="None")  # as its ProxyException writes them
            send(_dumps(error))
            self.wfile.write(b"0\r\n\r\n")
            return
        if reply.stream_error is not None:
            error = vllm_error(reply.stream_error, 400)
            send(_dumps(error))
        else:
            if not finished:
                send(chunk(choice({}, finish), **({} if sends_usage else fingerprint)))
            if sends_usage:
                usage = self._usage(req, len(deltas), reply.cached_tokens)
                send(chunk([], usage=usage, **fingerprint))
        if reply.send_done:
            send("[DONE]")
        if reply.open_after_done:
            self.wfile.flush()
            self._pause_watching(reply.open_after_done)
        self.wfile.write(b"0\r\n\r\n")


# vLLM's first chunk echoes the prompt when asked (`echo`, `return_token_ids`); else nulls.
_PROMPT_ECHO = {"prompt_token_ids": None, "prompt_text": None}

# Every path served: its method and its handler (which gets the request body). A path
# not here is FastAPI's 404; a path here asked with another method, its 405.
ROUTES: dict[str, tuple[str, Callable[[_Handler, bytes], None]]] = {
    "/v1/models": ("GET", _Handler._models),
    "/v1/chat/completions": ("POST", _Handler._chat),
    "/health": ("GET", _Handler._health),
    "/version": ("GET", _Handler._version),
    "/tokenize": ("POST", _Handler._tokenize),
    "/metrics": ("GET", _Handler._metrics),
}


def _encode_body(body: str | bytes | dict) -> bytes:
    if isinstance(body, dict):
        return _dumps(body).encode()
    return body.encode() if isinstance(body, str) else bytes(body)


class StandinServer:
    """A real HTTP server on a loopback port that answers like vLLM's OpenAI server."""

    def __init__(
        self,
        models: Sequence[str] = ("standin-model", "standin-model-large"),
        api_key: str | None = None,
        host: str = "127.0.0.1",
        max_model_len: int = 4096,
        port: int = 0,
        template_opens_think: bool | Collection[str] = False,
        serves_tokenize: bool = True,
        demo: bool = False,
        without: Collection[str] = (),
        loras: dict[str, str] | None = None,
        metric_names: str = "current",
    ) -> None:
        if not _is_loopback(host):
            raise ValueError(f"standin server only binds loopback addresses, not {host!r}")
        self.host = host
        self.port = port
        self.models: list[str] = list(models)
        self.api_key = api_key
        self.max_model_len = max_model_len
        self.requests: list[dict] = []
        self.headers: list[dict[str, str]] = []
        self.connections = 0
        self.aborted = 0
        self.models_calls = 0
        self.models_delay = 0.0  # seconds GET /models waits before it answers
        # Set by a test: POST /tokenize answers only once this is set (at most 30 s later).
        self.tokenize_gate: threading.Event | None = None
        # /tokenize's prompt ends in <think>: for every model (True) or the models named.
        self.template_opens_think = template_opens_think
        self.serves_tokenize = serves_tokenize  # False: /tokenize is a 404, as on llama.cpp
        self.without = set(without)  # paths of ROUTES answered with a 404, as if not served
        self.demo = demo  # answer like a model, at a model's pace (see demo_reply)
        self.tokenize_requests: list[Any] = []  # POST /tokenize bodies (None if not JSON)
        # ... but those that ask for the count alone (`return_token_strs: false`: the toolbar's)
        self.count_requests: list[Any] = []
        self.loras: dict[str, str] = dict(loras or {})  # LoRA adapter -> its base model
        # /metrics: "current" names (vLLM 0.32) or the "older" ones (gpu_cache_usage_perc,
        # gpu_prefix_cache_*), or `metrics_body` sent as it is; the figures below.
        self.metric_names = metric_names
        self.metrics_body: str | None = None
        self.waiting = 0  # requests waiting, as /metrics says (set by a test)
        self.health_status = 200  # GET /health's: vLLM's is 503 once its engine died
        self.kv_cache_usage = 0.0  # share of the KV cache in use, as /metrics says
        self.counters = {"running": 0, "prompt": 0, "generation": 0, "queries": 0, "hits": 0}
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._replies: collections.deque[Reply] = collections.deque()
        self._ids = itertools.count(1)
        self._sockets: set[socket.socket] = set()
        self._stopping = threading.Event()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        self._started = time.time()  # the counters' `_created`, as prometheus_client gives it

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:PORT/v1``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/v1"

    def start(self) -> StandinServer:
        """Bind (port 0 picks a free port) and serve in a daemon thread."""
        if self._httpd is not None:
            raise RuntimeError("standin server already started")
        self._stopping.clear()
        server_class = _Server6 if ":" in self.host else _Server
        httpd = server_class((self.host, self.port), self)
        self.port = httpd.server_address[1]
        thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"standin:{self.port}",
            daemon=True,
        )
        self._httpd, self._thread = httpd, thread
        thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close every open connection; safe to call twice."""
        with self._lock:
            httpd, thread = self._httpd, self._thread
            self._httpd = self._thread = None
            sockets = list(self._sockets)
        if httpd is None:
            return
        self._stopping.set()
        httpd.shutdown()
        httpd.server_close()
        for sock in sockets:  # wakes handler threads idling on keep-alive connections
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> StandinServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"StandinServer({self.url!r}, models={self.models!r})"

    def push(self, *replies: Reply) -> None:
        """Queue scripted replies; each chat request takes the next one."""
        with self._lock:
            self._replies.extend(replies)

    def default_reply(self, body: dict) -> Reply:
        """The deterministic answer used when no scripted reply is queued."""
        text = _last_user_text(body.get("messages"))
        if self.demo:
            reply = demo_reply(text, _user_turns(body.get("messages")))
            if reply is not None:
                return reply
        lower = text.lower()
        if "markdown" in lower or "demo" in lower:
            return Reply(content=MARKDOWN_SAMPLE, chunk_chars=6, delay=0.01)
        if "think" in lower:
            return Reply(
                reasoning="Let me think about that step by step.",
                content="Here is my considered answer.",
            )
        number = text[5:].split(maxsplit=1)[0] if text[5:].strip() else ""
        if text.startswith("long ") and number.isascii() and number.isdigit():
            count = min(int(number), 100_000)
            lines = [f"Line {i} of {count}." for i in range(1, count + 1)]
            return Reply(content="\n".join(lines))
        return Reply(content=f"You said: {text}")

    def wait_for_requests(self, n: int, timeout: float = 5.0) -> None:
        """Block until at least ``n`` chat requests arrived; TimeoutError otherwise."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.requests) >= n, timeout):
                got = len(self.requests)
                raise TimeoutError(f"expected {n} chat requests within {timeout}s, got {got}")

    def wait_for_aborted(self, n: int, timeout: float = 10.0) -> None:
        """Block until at least ``n`` replies were cut off by their client; TimeoutError otherwise.

        The client hangs up first; the server notices at its next write, a moment later.
        """
        with self._changed:
            if not self._changed.wait_for(lambda: self.aborted >= n, timeout):
                got = self.aborted
                raise TimeoutError(f"expected {n} aborted replies within {timeout}s, got {got}")

    # ---- called from handler threads ------------------------------------------------------

    def _connected(self, sock: socket.socket) -> None:
        with self._lock:
            self.connections += 1
            self._sockets.add(sock)

    def _disconnected(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.discard(sock)

    def _record_headers(self, headers: dict[str, str]) -> None:
        with self._lock:
            self.headers.append(headers)

    def _record_tokenize(self, raw: bytes) -> None:
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        counting = isinstance(body, dict) and body.get("return_token_strs") is False
        with self._lock:
            (self.count_requests if counting else self.tokenize_requests).append(body)

    def _missing(self) -> set[str]:
        """The paths of ROUTES this server answers with a 404."""
        return self.without | (set() if self.serves_tokenize else {"/tokenize"})

    def _serves(self, model: Any) -> bool:
        return model in self.models or model in self.loras

    def _serving(self, req: dict, reply: Reply, change: int) -> None:
        """A chat request starts (+1: its tokens are counted) or ends (-1), for /metrics."""
        with self._lock:
            counters = self.counters
            counters["running"] += change
            if change > 0:
                prompt = _prompt_tokens(req.get("messages"))
                counters["prompt"] += prompt
                counters["queries"] += prompt
                counters["hits"] += min(prompt, reply.cached_tokens or 0)
                counters["generation"] += len(_Handler._plan(req, reply)[0])

    def metrics_text(self) -> str:
        """``GET /metrics`` as vLLM's prometheus_client writes it (a few of its figures)."""
        older = self.metric_names == "older"
        with self._lock:
            counters = dict(self.counters)
        labels = f'{{engine="0",model_name="{self.models[0] if self.models else "none"}"}}'
        lines = [
            "# HELP python_gc_objects_collected_total Objects collected during gc",
            "# TYPE python_gc_objects_collected_total counter",
            'python_gc_objects_collected_total{generation="0"} 14821.0',
        ]

        def gauge(name: str, text: str, value: float | str) -> None:
            shown = value if isinstance(value, str) else repr(float(value))
            lines.extend([f"# HELP {name} {text}", f"# TYPE {name} gauge",
                          f"{name}{labels} {shown}"])  # fmt: skip

        def counter(name: str, text: str, value: float) -> None:
            # prometheus_client 0.2x names a counter's family with its _total; older ones not.
            family = name if older else f"{name}_total"
            lines.extend([f"# HELP {family} {text}", f"# TYPE {family} counter",
                          f"{name}_total{labels} {float(value)!r}"])  # fmt: skip
            gauge(f"{name}_created", text, f"{self._started:.16e}")

        gauge("vllm:num_requests_running", "Number of requests in model execution batches.",
              counters["running"])  # fmt: skip
        gauge("vllm:num_requests_waiting", "Number of requests waiting to be processed.",
              self.waiting)  # fmt: skip
        prefix = "vllm:gpu_prefix_cache" if older else "vllm:prefix_cache"
        gauge("vllm:gpu_cache_usage_perc" if older else "vllm:kv_cache_usage_perc",
              "KV-cache usage. 1 means 100 percent usage.", self.kv_cache_usage)  # fmt: skip
        counter(f"{prefix}_queries",
                "Prefix cache queries, in terms of number of queried tokens.",
                counters["queries"])  # fmt: skip
        counter(f"{prefix}_hits", "Prefix cache hits, in terms of number of cached tokens.",
                counters["hits"])  # fmt: skip
        counter("vllm:prompt_tokens", "Number of prefill tokens processed.", counters["prompt"])
        counter("vllm:generation_tokens", "Number of generation tokens processed.",
                counters["generation"])  # fmt: skip
        return "\n".join(lines) + "\n"

    def _opens_think(self, model: Any) -> bool:
        opens = self.template_opens_think
        return opens if isinstance(opens, bool) else model in opens

    def _record_request(self, body: dict) -> None:
        with self._changed:
            self.requests.append(body)
            self._changed.notify_all()

    def _next_reply(self, body: dict) -> Reply:
        with self._lock:
            if self._replies:
                return self._replies.popleft()
        return self.default_reply(body)

    def _next_id(self) -> int:
        with self._lock:
            return next(self._ids)


# ---- the demo (`--run`, `--demo`): answers that look and stream like a model's -------------

# About 40 deltas a second of 4 characters: a real server's pace for a mid-sized model.
DEMO_CHUNK_CHARS = 4
DEMO_DELAY = 0.025
DEMO_FIRST_TOKEN = 0.35

DEMO_WELCOME = """\
## Welcome to vllm-chat

I am the **demo stand-in**: a small server on 127.0.0.1 that answers like a model, so
you can try the client without a GPU. My answers are canned, but they stream the way a
real server's do, a few characters at a time.

Things to try:

- Ask for **a table**, **some code**, **a list** or **links**, and watch the Markdown
  render while it streams.
- Ask **why** something is so, or tell me to **think**: the reasoning streams first,
  dimmed, then the answer.
- Type `/help` for the commands: `/retry`, `/history`, `/save`, `/file`, `/copy`, ...
- Press **Alt-Enter** (or Ctrl-J) for a new line, or type `\"\"\"` on its own line to
  open a block for pasting.
- Press **Ctrl-C** while an answer streams to stop it, and **Ctrl-D** to quit.

Then point it at your own server: `vllm-chat --url http://HOST:8000/v1`."""

DEMO_TABLE = """\
### Serving an 8B model: weight precision

Weights are only part of the memory; whatever is left on the GPU becomes KV cache.

| Precision | Weights | Quality | Notes |
| --- | ---: | --- | --- |
| BF16 | ~16 GB | reference | the default for most checkpoints |
| FP8 | ~8 GB | very close | fast on Hopper and Ada GPUs |
| INT8 (W8A8) | ~8 GB | close | needs a quantized checkpoint |
| 4-bit (AWQ, GPTQ) | ~5 GB | slightly lower | most room left for the KV cache |

Halving the weights leaves more memory for the **KV cache**, so more requests fit in a
batch at once."""

DEMO_CODE = '''\
Here is a small Python client that streams an answer from any OpenAI-compatible
server, printing each piece as it arrives:

```python
import json

import requests


def stream_chat(url: str, model: str, prompt: str) -> str:
    """Print the answer as it streams; return all of it."""
    body = {
        "model": model,
        "stream": True,
        "messages": [{"role": "user", "content": prompt}],
    }
    pieces = []
    with requests.post(f"{url}/chat/completions", json=body, stream=True) as response:
        response.raise_for_status()
        for line in response.iter_lines(decode_unicode=True):
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            delta = json.loads(line[6:])["choices"][0]["delta"]
            piece = delta.get("content") or ""
            print(piece, end="", flush=True)
            pieces.append(piece)
    return "".join(pieces)
```

Each event is a line starting with `data:`, and `[DONE]` ends the stream. Type
`/copy 1` to put the code on your clipboard.'''

DEMO_LIST = """\
### Making a vLLM server faster

1. **Give it memory.** `--gpu-memory-utilization 0.9` (the default) leaves the rest of
   the GPU for the KV cache; raise it on a card that runs nothing else.
2. **Cap the context.** `--max-model-len 8192` when you never need the model's full
   length: each request then reserves less.
3. **Reuse prompts.** Prefix caching keeps the KV cache of a shared system prompt:
   - on by default in recent versions
   - `--enable-prefix-caching` turns it on in older ones
4. **Spread the model.** `--tensor-parallel-size 2` splits it over two GPUs.
5. **Quantize.** An FP8 or AWQ checkpoint halves the weights or better.

Measure before and after: `/stats on` shows the time to the first token and the
tokens per second of every answer."""

DEMO_LINKS = """\
### Where to read more

- The [vLLM documentation](https://docs.vllm.ai), with the
  [OpenAI-compatible server](https://docs.vllm.ai/en/latest/serving/openai_compatible_server.html)
  this client talks to.
- The source and issues: <https://github.com/vllm-project/vllm>
- The PagedAttention paper, which started it:
  [Efficient Memory Management for LLM Serving](https://arxiv.org/abs/2309.06180)

A link shows as its text with the URL after it, so the address is never hidden."""

DEMO_WHY = """\
### Why vLLM serves so many requests at once

**Short answer:** it wastes almost no memory on the KV cache, so many more requests fit
on the GPU together.

- **PagedAttention** stores each request's KV cache in small fixed-size blocks, like
  pages of virtual memory, instead of one region reserved for the longest answer.
- **Continuous batching** adds a new request to the running batch as soon as another
  finishes, instead of waiting for the whole batch.

Together they keep the GPU busy, which is where the throughput comes from."""

DEMO_REASONING = (
    "The user asks: “{question}”. What do they need from me? First the short answer, "
    "then what supports it, in the shape that is easiest to scan: a list, a table or "
    "code, whichever fits. Anything missing? A pointer to read further, perhaps. "
    "Then one line to sum up. (A reasoning model streams its thoughts like this, "
    "before the answer.)"
)

# Keywords (whole words, any case) that pick an answer; the first match wins.
DEMO_TOPICS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("hi", "hello", "hey", "help", "welcome", "start"), DEMO_WELCOME),
    (("table", "tables", "compare", "comparison", "versus", "vs"), DEMO_TABLE),
    (("code", "python", "function", "script", "program", "example"), DEMO_CODE),
    (("list", "steps", "tips", "faster", "speed", "how"), DEMO_LIST),
    (("link", "links", "docs", "documentation", "read", "learn", "source"), DEMO_LINKS),
    (("markdown", "demo", "everything"), MARKDOWN_SAMPLE),
)
DEMO_THINK_WORDS = ("think", "thinking", "reason", "reasoning", "why")
DEMO_ROTATION = (DEMO_LIST, DEMO_TABLE, DEMO_CODE, DEMO_LINKS, DEMO_WHY)


def _user_turns(messages: Any) -> int:
    if not isinstance(messages, list):
        return 0
    return sum(1 for m in messages if isinstance(m, dict) and m.get("role") == "user")


def demo_reply(text: str, turn: int) -> Reply | None:
    """The demo's answer to the ``turn``-th message ``text``; None for ``long N``.

    Keywords pick an answer (see ``DEMO_TOPICS``); the first message without one gets
    the welcome, later ones rotate. A message that asks to think, reason or say why
    gets reasoning first.
    """
    if re.fullmatch(r"long \d+", text.strip()):
        return None
    words = set(re.findall(r"[a-z]+", text.lower()))
    content = next((answer for keys, answer in DEMO_TOPICS if words & set(keys)), None)
    reasoning = ""
    if words & set(DEMO_THINK_WORDS):
        question = " ".join(text.split())
        question = question if len(question) <= 80 else question[:79] + "…"
        reasoning = DEMO_REASONING.format(question=question)
        content = content if content not in (None, DEMO_WELCOME) else DEMO_WHY
    if content is None:
        content = DEMO_WELCOME if turn <= 1 else DEMO_ROTATION[(turn - 2) % len(DEMO_ROTATION)]
    return Reply(
        content=content,
        reasoning=reasoning,
        chunk_chars=DEMO_CHUNK_CHARS,
        delay=DEMO_DELAY,
        first_token_delay=DEMO_FIRST_TOKEN,
    )


def _run(server: StandinServer, command: list[str]) -> int:
    """Run ``command --url URL`` on the inherited terminal; return its exit status."""
    previous = None
    with contextlib.suppress(ValueError):  # not the main thread: leave SIGINT alone
        # A no-op handler rather than SIG_IGN: exec() resets handled signals to the
        # default in the child, while an ignored SIGINT would stay ignored there.
        previous = signal.signal(signal.SIGINT, lambda signum, frame: None)
    try:
        try:
            child = subprocess.Popen([*command, "--url", server.url])
        except OSError as exc:
            print(f"standin: cannot run {command[0]!r}: {exc}", file=sys.stderr)
            return 127
        code = child.wait()
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    return 128 - code if code < 0 else code


def main(argv: list[str] | None = None) -> int:
    """``python -m tests.standin [--host H] [--port P] [--api-key K] [--demo] [--run CMD...]``.

    ``--run`` (what ``make demo`` uses) answers with the demo's replies, as ``--demo`` does.
    """
    args_in = list(sys.argv[1:] if argv is None else argv)
    command: list[str] | None = None
    if "--run" in args_in:
        at = args_in.index("--run")
        args_in, command = args_in[:at], args_in[at + 1 :]
    parser = argparse.ArgumentParser(
        prog="python -m tests.standin",
        description="A stand-in for vLLM's OpenAI-compatible server (loopback only).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind")
    parser.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    parser.add_argument("--api-key", default=None, help="require this bearer token")
    parser.add_argument(
        "--template-opens-think",
        action="store_true",
        help="/tokenize's prompt ends in <think>, like a thinking model's chat template",
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="answer like a model, at a model's pace (always on with --run)",
    )
    parser.add_argument(
        "--run",
        nargs=argparse.REMAINDER,
        metavar="CMD",
        help="run CMD ARGS... --url URL against the server, then exit with its status",
    )
    args = parser.parse_args(args_in)
    if command is not None and not command:
        parser.error("--run needs a command")
    if not _is_loopback(args.host):
        parser.error(f"--host must be a loopback address, not {args.host!r}")
    server = StandinServer(
        host=args.host,
        api_key=args.api_key,
        port=args.port,
        template_opens_think=args.template_opens_think,
        demo=args.demo or command is not None,
    )
    try:
        server.start()
    except OSError as exc:
        print(f"standin: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    try:
        if command is not None:
            return _run(server, command)
        print(f"standin server on {server.url}", file=sys.stderr, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)
        return 0
    finally:
        server.stop()


if __name__ == "__main__":
    raise SystemExit(main())

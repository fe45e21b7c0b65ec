"""HTTP client for an OpenAI-compatible server: model list and streamed chat.

Every expected failure becomes an `ApiError` subclass carrying one line a
person can act on; nothing from `requests` leaks to the caller.
"""

from __future__ import annotations

import ast
import json
import os
import re
import threading
import urllib.parse
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import requests
import urllib3
from urllib3.exceptions import ReadTimeoutError

from vllm_chat.client.hints import PLAIN_TO_TLS_BODIES, connect_failure, hint, is_local, shorten
from vllm_chat.client.sse import SSEDecoder
from vllm_chat.config.defaults import DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT, KEY_ORIGINS

TOKENIZE_TIMEOUT = 2.0  # seconds: a probe, not worth holding up the answer for


class ApiError(Exception):
    """A failure the user can understand; `str()` is the one line to show."""


class ServerUnreachable(ApiError):
    """Nothing answers at the URL."""


class RequestTimeout(ApiError):
    """The server accepted the request but went silent for too long."""


class HTTPStatusError(ApiError):
    """The server answered with an error status; carries the server's own message."""

    def __init__(self, status: int, server_message: str, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.server_message = server_message


class AuthError(HTTPStatusError):
    """401/403: the API key was missing or rejected."""


class StreamError(ApiError):
    """The answer could not be read: not an event stream, broken or cut off."""


@dataclass(frozen=True)
class ModelInfo:
    id: str
    max_model_len: int | None = None


@dataclass(frozen=True)
class ContentDelta:
    text: str


@dataclass(frozen=True)
class ReasoningDelta:
    text: str


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


@dataclass(frozen=True)
class Finish:
    reason: str


@dataclass(frozen=True)
class BadEvent:
    """An event that was not valid JSON; skipped, reported once by the caller."""

    payload: str


StreamEvent = ContentDelta | ReasoningDelta | Usage | Finish | BadEvent


class Client:
    """One keep-alive HTTP session to one server."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        api_key_source: str = "none",
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key_source = api_key_source
        self._timeout = (connect_timeout, read_timeout)
        self._session = requests.Session()
        # vLLM's own client sends "EMPTY" when no key is given.
        self._session.headers["Authorization"] = f"Bearer {api_key or 'EMPTY'}"
        self._session.headers["User-Agent"] = "vllm-chat"

    def close(self) -> None:
        self._session.close()

    def switch(
        self, base_url: str, *, api_key: str | None = None, api_key_source: str | None = None
    ) -> None:
        """Talk to `base_url` from now on, with `api_key` if given (else the same key).

        The open connections are closed: none carries the old key any further.
        """
        self._session.close()
        self.base_url = base_url.rstrip("/")
        if api_key is not None:
            self._session.headers["Authorization"] = f"Bearer {api_key}"
            self.api_key_source = api_key_source or self.api_key_source

    def models(self) -> list[ModelInfo]:
        """`GET /models`: the models the server serves, in its order."""
        response = self._request("GET", "/models", stream=False)
        with response:
            self._raise_for_status(response)
            try:
                payload = response.json()
                entries = payload["data"]
                return [
                    ModelInfo(str(entry["id"]), _int_or_none(entry.get("max_model_len")))
                    for entry in entries
                ]
            except (ValueError, KeyError, TypeError) as exc:
                raise StreamError(
                    f"{self.base_url}/models did not answer with a model list; " + hint("base_url")
                ) from exc

    def tokenize_chat(
        self,
        model: str,
        messages: list[dict[str, Any]],
        chat_template_kwargs: Any = None,
        *,
        timeout: float = TOKENIZE_TIMEOUT,
    ) -> list[str] | None:
        """vLLM's `POST /tokenize` (at the server root): the chat prompt's token strings.

        The prompt is what the chat template makes of `messages`, generation
        prompt included. None whenever there is no such answer: no endpoint
        (404, 405, 501: not vLLM), an error, no connection, a timeout, an odd
        body. Never raises for any of those.
        """
        body: dict[str, Any] = {
            "model": model,
            "messages": messages,
            "add_generation_prompt": True,
            "return_token_strs": True,
        }
        if chat_template_kwargs is not None:
            body["chat_template_kwargs"] = chat_template_kwargs
        try:
            response = self._session.post(
                self.server_root + "/tokenize", json=body, timeout=timeout, stream=False
            )
            with response:
                if response.status_code != 200:
                    return None
                payload = response.json()
        except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError, OSError):
            return None
        except ValueError:  # not JSON (requests' JSONDecodeError is a ValueError)
            return None
        strs = payload.get("token_strs") if isinstance(payload, dict) else None
        if not isinstance(strs, list) or not all(isinstance(s, str) for s in strs):
            return None
        return strs

    @property
    def server_root(self) -> str:
        """The base URL without its `/v1`: where vLLM serves `/tokenize` and `/health`."""
        return self.base_url.removesuffix("/v1")

    def stream_chat(self, body: dict[str, Any]) -> Iterator[StreamEvent]:
        """`POST /chat/completions` with `stream: true`; yields events as they arrive.

        Closing the generator (or an exception in the consumer, such as
        Ctrl-C) closes the response, so the server aborts the generation.
        """
        response = self._request("POST", "/chat/completions", json={**body, "stream": True})
        complete = False
        # One reader of the body from start to end: abandoning a urllib3 reader
        # part-way closes the connection, so the end after [DONE] is read with it.
        chunks = _body_chunks(response)
        try:
            self._raise_for_status(response)
            yield from self._events(response, chunks)
            complete = True
        except (ReadTimeoutError, requests.exceptions.Timeout) as exc:
            raise RequestTimeout(
                f"no data from the server for {self._timeout[1]:g} s; gave up ({hint('timeout')})"
            ) from exc
        except (urllib3.exceptions.HTTPError, requests.exceptions.RequestException, OSError) as exc:
            raise StreamError("the connection was lost before the answer was complete") from exc
        finally:
            if complete:
                _release_after_body(response, chunks)
            else:
                response.close()  # the server sees the hang-up and aborts

    def _events(
        self, response: requests.Response, chunks: Iterator[bytes]
    ) -> Iterator[StreamEvent]:
        content_type = response.headers.get("Content-Type", "").lower()
        if content_type.startswith("application/json"):
            yield from _events_from_completion(response)
            return
        if content_type.startswith("text/html"):
            raise StreamError(
                "the server sent a web page instead of an event stream; " + hint("base_url")
            )
        finished = any_event = False
        for payload in _payloads(chunks):
            if payload.strip() == "[DONE]":
                return
            any_event = True
            for event in _parse_chunk(payload, response.headers):
                finished = finished or isinstance(event, Finish)
                yield event
        if not any_event and "event-stream" not in content_type:
            raise StreamError(
                f"the server's answer was not an event stream ({content_type or 'no type'}); "
                + hint("base_url")
            )
        if not finished:
            # Some servers omit [DONE]; a finish reason is as good an ending.
            raise StreamError("the connection was lost before the answer was complete")

    def _request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        url = self.base_url + path
        try:
            return self._session.request(
                method, url, timeout=self._timeout, stream=kwargs.pop("stream", True), **kwargs
            )
        except requests.exceptions.ConnectTimeout as exc:
            raise self._unreachable(exc) from exc
        except requests.exceptions.Timeout as exc:
            raise RequestTimeout(
                f"the server accepted the request but did not answer within "
                f"{self._timeout[1]:g} s ({hint('timeout')})"
            ) from exc
        except requests.exceptions.InvalidURL as exc:
            raise ServerUnreachable(f"{self.base_url} is not a valid URL") from exc
        except requests.exceptions.ConnectionError as exc:
            raise self._unreachable(exc) from exc
        except requests.exceptions.RequestException as exc:
            # Not `exc`'s text: requests may quote request headers, the key among them.
            raise ServerUnreachable(
                f"request to {self.base_url} failed ({type(exc).__name__})"
            ) from None

    def _unreachable(self, exc: requests.exceptions.RequestException) -> ServerUnreachable:
        """One line for a connection that failed, with the hint that fits the way it failed.

        Only a refused connection to this machine suggests starting `vllm serve`.
        """
        url = self.base_url
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ""
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:  # not a port number: requests would have said so first
            port = 0
        swapped = ("http" if parts.scheme == "https" else "https") + url[len(parts.scheme) :]
        where = hint("start") if is_local(host) else hint("remote")
        if isinstance(exc, requests.exceptions.ConnectTimeout):
            where = hint("local_timeout") if is_local(host) else hint("remote")
            return ServerUnreachable(
                f"no connection to {url} within {self._timeout[0]:g} s "
                f"({hint('connect_timeout')}); {where}"
            )
        if isinstance(exc, requests.exceptions.ProxyError):
            return ServerUnreachable(
                f"cannot reach the proxy {_proxy_for(url)} on the way to {url}; {hint('proxy')}"
            )
        kind, reason = connect_failure(exc)
        lead = f"cannot reach the server at {url}"
        if kind == "not_tls" and parts.scheme == "https":
            text = f"{lead} over TLS; {hint('use_http', url=swapped)}"
        elif kind == "tls_alert" and parts.scheme == "http":
            text = f"{lead}; {hint('use_https', url=swapped)}"
        elif kind == "certificate":
            text = f"{lead}: its TLS certificate is not trusted ({reason}); {hint('certificate')}"
        elif kind in ("tls", "not_tls"):
            text = f"{lead}: the TLS handshake failed ({reason})"
        elif kind == "no_such_host":
            text = f"{lead}: no such host {host}; {hint('no_such_host')}"
        elif kind == "dns_down":
            text = f"{lead}: looking up {host} failed ({reason}); {hint('dns_down')}"
        elif kind == "refused" and is_local(host):
            text = f"{lead}: nothing listens on port {port}; {where}"
        elif kind == "refused":
            text = f"{lead}: {host} refused the connection on port {port}; {where}"
        elif kind == "reset" and parts.scheme == "http":
            text = (
                f"{lead}: it closed the connection without answering; "
                f"{hint('maybe_https', url=swapped)}"
            )
        elif kind == "reset":
            text = f"{lead}: it closed the connection without answering"
        else:
            text = f"{lead}; {where}"
        return ServerUnreachable(text)

    def _raise_for_status(self, response: requests.Response) -> None:
        if response.status_code < 400:
            return
        try:
            raw = response.content
        except requests.exceptions.RequestException:
            raw = b""
        content_type = response.headers.get("Content-Type", "")
        message, speaker = server_words(raw, content_type, response.headers)
        status = response.status_code
        if status in (401, 403):
            origin = KEY_ORIGINS.get(self.api_key_source)
            text = (
                f"the server rejected the key from {origin} ({status}: {message})"
                if origin
                else f"the server wants an API key ({status}: {message}); "
                "give one with --api-key KEY or OPENAI_API_KEY"
            )
            raise AuthError(status, message, text)
        text = f"the server answered {status} {response.reason or ''}".rstrip()
        if speaker == "upstream":
            text += " through a LiteLLM gateway"
        text = f"{text}: {message}" if message else text
        if speaker == "gateway":
            text += f" ({_gateway_hint(message)})"
        elif speaker is None and status in (404, 405) and "model" not in message.lower():
            text += f" (is {self.base_url} the API's base URL? It usually ends in /v1)"
        lowered = message.lower()
        if self.base_url.startswith("http://") and any(b in lowered for b in PLAIN_TO_TLS_BODIES):
            https = "https://" + self.base_url[len("http://") :]
            text = f"{text.rstrip('.')}; {hint('use_https', url=https)}"
        raise HTTPStatusError(status, message, text)


def error_message(raw: bytes, content_type: str = "") -> str:
    """The server's own words from an error body, whatever shape it uses, on one line."""
    return server_words(raw, content_type)[0]


def server_words(
    raw: bytes, content_type: str = "", headers: Mapping[str, str] | None = None
) -> tuple[str, str | None]:
    """The words of an error body, shortened to one line, and who wrote them.

    The second value is None for a plain server, "gateway" for a LiteLLM
    gateway's own error, and "upstream" for a server's error the gateway
    relayed, its wrappers (`litellm.BadRequestError: ...Exception - `, the
    routing notes after it) taken off.
    """
    words, speaker = _gateway_words(_body_words(raw, content_type), headers or {})
    return shorten(words), speaker


def _body_words(raw: bytes, content_type: str) -> str:
    text = raw.decode("utf-8", errors="replace").strip()
    try:
        payload = json.loads(text)
    except ValueError:
        payload = None
    if payload is not None:
        found = _message_from_json(payload)
        if found:
            return found
    if "html" in content_type.lower() or text.lstrip().lower().startswith(("<!doctype", "<html")):
        title = re.search(r"<title[^>]*>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
        return f"an HTML page{': ' + _one_line(title.group(1)) if title else ''}"
    return _one_line(text)


def _message_from_json(payload: Any) -> str:
    if isinstance(payload, str):
        return _one_line(payload)
    if isinstance(payload, list):  # FastAPI validation errors: [{"msg": ..., "loc": ...}]
        return "; ".join(filter(None, (_message_from_json(item) for item in payload)))
    if not isinstance(payload, dict):
        return ""
    for key in ("error", "message", "detail", "msg"):
        if key in payload and payload[key]:
            return _message_from_json(payload[key])
    return ""


def _one_line(text: str) -> str:
    return " ".join(text.split())


# LiteLLM's wrappers around an error: class names before it, routing notes after it.
_LITELLM_SEEN = re.compile(
    r"\blitellm\.\w+|Received Model Group=|No deployments available for selected model"
    r"|^No connected db\b"
)
_LITELLM_HEAD = re.compile(
    r"^(?:litellm\.[\w.]+:\s*|[A-Z]\w*(?:Error|Exception)(?::\s+|\s+-\s*)"
    r"|Error code:?\s*\d+\s*-\s*)"
)
_LITELLM_TAIL = re.compile(
    r"\s*(?:Received Model Group=|Available Model Group Fallbacks=|LiteLLM Retried:|"
    r"Passed model=|Traceback \(most recent call last\)).*$"
)
_RELAYED = re.compile(r"\w+Exception\s+-")  # "Hosted_vllmException - ": a provider's words


def _gateway_words(text: str, headers: Mapping[str, str]) -> tuple[str, str | None]:
    """`text` without LiteLLM's wrappers, and whose words they are (see `server_words`)."""
    from_litellm = any(name.lower().startswith("x-litellm-") for name in headers)
    if not (from_litellm or _LITELLM_SEEN.search(text)):
        return text, None
    speaker = "gateway"
    for _ in range(4):  # wrappers inside a relayed body inside a wrapper...
        text = _LITELLM_TAIL.sub("", text)
        while (head := _LITELLM_HEAD.match(text)) and head.end() > 0:
            if _RELAYED.match(head.group()):
                speaker = "upstream"  # the gateway quotes the server behind it
            text = text[head.end() :]
        text = text.strip()
        inner = _embedded_message(text)
        if inner is None:
            break
        speaker, text = "upstream", inner
    text = text[:-1] if text.endswith("..") else text  # LiteLLM's ". " after a full stop
    return ("" if not text.strip(" .") else text), speaker


def _embedded_message(text: str) -> str | None:
    """The message of a JSON (or Python-printed) error body quoted whole in `text`."""
    start, end = text.find("{"), text.rfind("}")
    if start != 0 or end < 0:
        return None
    body = text[: end + 1]
    try:
        payload = json.loads(body)
    except ValueError:
        try:
            payload = ast.literal_eval(body)  # "{'error': {'message': ...}}"
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return None
    found = _message_from_json(payload)
    return found or None


def _gateway_hint(words: str) -> str:
    lowered = words.lower()
    if "no connected db" in lowered:
        return hint("no_db")
    if "no deployments available" in lowered or "cooldown" in lowered:
        return hint("cooldown")
    return hint("gateway")


def _proxy_for(url: str) -> str:
    """The proxy `requests` takes for `url` from the environment, without credentials."""
    proxy = requests.utils.select_proxy(url, requests.utils.get_environ_proxies(url)) or ""
    parts = urllib.parse.urlsplit(proxy if "://" in proxy else "http://" + proxy)
    netloc = parts.hostname or ""
    netloc = f"[{netloc}]" if ":" in netloc else netloc
    netloc += f":{parts.port}" if parts.port else ""
    scheme = urllib.parse.urlsplit(url).scheme
    names = [f"{scheme}_proxy", f"{scheme.upper()}_PROXY", "all_proxy", "ALL_PROXY"]
    origin = next((name for name in names if os.environ.get(name)), None)
    shown = f"{parts.scheme}://{netloc}" if netloc else "(unknown)"
    return f"{shown} (from {origin})" if origin else shown


def _server_failure(payload: Any, headers: Mapping[str, str], what: str) -> StreamError:
    """The server's error event (or error body) as one line: who said what."""
    words, speaker = _gateway_words(_message_from_json(payload), headers)
    who = {"gateway": "the LiteLLM gateway", "upstream": "the server behind a LiteLLM gateway"}
    lead = f"{who.get(speaker or '', 'the server')} {what}"
    return StreamError(f"{lead}: {shorten(words)}" if words else lead)


def _parse_chunk(payload: str, headers: Mapping[str, str] | None = None) -> list[StreamEvent]:
    """The events of one `data` payload; an error event raises the server's words."""
    try:
        chunk = json.loads(payload)
    except ValueError:
        return [BadEvent(payload)]
    if not isinstance(chunk, dict):
        return [BadEvent(payload)]
    if chunk.get("error") or chunk.get("object") == "error":
        # vLLM (and LiteLLM) report failures after the headers were sent as an event.
        raise _server_failure(chunk, headers or {}, "stopped the answer")
    events: list[StreamEvent] = []
    choices = chunk.get("choices")
    # With n > 1, choices stream interleaved, one per chunk: only choice 0 is shown.
    choice = (
        next((c for c in choices if isinstance(c, dict) and c.get("index", 0) == 0), None)
        if isinstance(choices, list)
        else None
    )
    if choice is not None:
        delta = choice.get("delta") or {}
        if not isinstance(delta, dict):
            return [BadEvent(payload)]
        reasoning = delta.get("reasoning") or delta.get("reasoning_content")
        if isinstance(reasoning, str) and reasoning:
            events.append(ReasoningDelta(reasoning))
        if isinstance(delta.get("content"), str) and delta["content"]:
            events.append(ContentDelta(delta["content"]))
        if choice.get("finish_reason"):
            events.append(Finish(str(choice["finish_reason"])))
    usage = chunk.get("usage")
    if isinstance(usage, dict):
        events.append(_usage(usage))
    return events


def _payloads(chunks: Iterator[bytes]) -> Iterator[str]:
    """The `data` payloads of the event stream in `chunks`, the last one included."""
    decoder = SSEDecoder()
    for chunk in chunks:
        yield from decoder.feed(chunk)
    yield from decoder.close()


def _release_after_body(response: requests.Response, chunks: Iterator[bytes]) -> None:
    """After `[DONE]`: read the body's end, then hand the connection back for reuse.

    The end (the last empty chunk) follows at once from a normal server. One
    that keeps the body open, or sends more, loses the connection instead of
    holding up the answer: the wait happens in a thread, for at most 0.25 s.
    """

    def drain() -> None:
        try:
            for count, _ in enumerate(chunks):
                if count > 64:
                    raise OSError("more than an ending after [DONE]")
            response.raw.release_conn()
        except Exception:  # whatever went wrong, this connection is done
            response.close()

    worker = threading.Thread(target=drain, daemon=True)
    worker.start()
    worker.join(0.25)


def _body_chunks(response: requests.Response) -> Iterator[bytes]:
    """The body as it arrives, never waiting to fill a buffer.

    Chunked bodies (what vLLM sends) come a transfer chunk at a time; a body
    delimited by closing the connection is read with `read1`, which returns
    whatever the socket has instead of blocking until 8 KiB are in.
    """
    raw = response.raw
    if raw.chunked or not hasattr(raw, "read1"):
        yield from raw.stream(8192 if raw.chunked else 1, decode_content=True)
        return
    while chunk := raw.read1(8192, decode_content=True):
        yield chunk


def _events_from_completion(response: requests.Response) -> Iterator[StreamEvent]:
    """A server that ignored `stream: true` and sent the whole completion at once."""
    try:
        payload = response.json()
    except ValueError as exc:
        raise StreamError("the server's answer was not an event stream nor JSON") from exc
    if not isinstance(payload, dict):
        raise StreamError("the server's answer was not a chat completion")
    if payload.get("error") or payload.get("object") == "error":
        raise _server_failure(payload, response.headers, "reported an error")
    try:
        choice = payload["choices"][0]
        message = choice.get("message") or {}
        reasoning = message.get("reasoning") or message.get("reasoning_content")
        content = message.get("content")
    except (KeyError, IndexError, TypeError, AttributeError) as exc:
        raise StreamError("the server's answer was not a chat completion") from exc
    if isinstance(reasoning, str) and reasoning:
        yield ReasoningDelta(reasoning)
    if isinstance(content, str) and content:
        yield ContentDelta(content)
    yield Finish(choice.get("finish_reason") or "stop")
    if isinstance(payload.get("usage"), dict):
        yield _usage(payload["usage"])


def _usage(usage: dict[str, Any]) -> Usage:
    prompt = _int_or_none(usage.get("prompt_tokens")) or 0
    completion = _int_or_none(usage.get("completion_tokens")) or 0
    total = _int_or_none(usage.get("total_tokens")) or prompt + completion
    return Usage(prompt, completion, total)


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None

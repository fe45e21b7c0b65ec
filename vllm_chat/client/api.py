"""HTTP client for an OpenAI-compatible server: model list and streamed chat.

Every expected failure becomes an `ApiError` subclass carrying one line a
person can act on; nothing from `requests` leaks to the caller.
"""

from __future__ import annotations

import os
import threading
import urllib.parse
from collections.abc import Iterator
from typing import Any

import requests
import urllib3
from urllib3.exceptions import ReadTimeoutError

from vllm_chat.client.errors import (
    ApiError,
    AuthError,
    HTTPStatusError,
    RequestTimeout,
    ServerUnreachable,
    StreamError,
    gateway_hint,
    server_failure,
    server_words,
)
from vllm_chat.client.events import (
    ContentDelta,
    Finish,
    ModelInfo,
    ReasoningDelta,
    StreamEvent,
    int_or_none,
    parse_chunk,
    payloads,
    tool_call_deltas,
    usage_of,
)
from vllm_chat.client.hints import PLAIN_TO_TLS_BODIES, connect_failure, hint, is_local
from vllm_chat.config.defaults import DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT, KEY_ORIGINS

TOKENIZE_TIMEOUT = 2.0  # seconds: a probe, not worth holding up the answer for


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
        return [
            ModelInfo(str(card["id"]), int_or_none(card.get("max_model_len")))
            for card in self.model_cards()
        ]

    def model_cards(self) -> list[dict[str, Any]]:
        """`GET /models`: each model's card as sent (vLLM's have `root`, `parent`, ...)."""
        response = self._request("GET", "/models", stream=False)
        with response:
            self._raise_for_status(response)
            try:
                entries = response.json()["data"]
                if not all(isinstance(entry, dict) and "id" in entry for entry in entries):
                    raise TypeError("not a model card")
                return list(entries)
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
        body = chat_tokenize_body(model, messages, chat_template_kwargs)
        try:
            payload = self.call_root("POST", "/tokenize", json_body=body, timeout=timeout)
        except (ApiError, urllib3.exceptions.HTTPError, OSError):
            return None
        strs = payload.get("token_strs") if isinstance(payload, dict) else None
        if not isinstance(strs, list) or not all(isinstance(s, str) for s in strs):
            return None
        return strs

    @property
    def server_root(self) -> str:
        """The base URL without its `/v1`: where vLLM serves `/tokenize` and `/health`."""
        return self.base_url.removesuffix("/v1")

    def call_root(
        self, method: str, path: str, *, json_body: Any = None, timeout: float | None = None
    ) -> Any:
        """`METHOD path` at the server root: the JSON body, or the text of any other body.

        vLLM serves `/version`, `/health`, `/metrics`, `/tokenize` and `/detokenize`
        there, not under `/v1`. Failures are `ApiError`s as for the API's paths, but
        a 404, 405 or 501 says that the server has no such endpoint, never that
        `--url` should end in /v1. `timeout` (seconds) replaces both of the client's.
        """
        response = self._request(
            method, path, root=True, json=json_body, timeout=timeout, stream=False
        )
        with response:
            self._raise_for_status(response, root_path=path)
            is_json = "json" in response.headers.get("Content-Type", "").lower()
            if not is_json or not response.content:  # /health's empty body is text too
                return response.text
            try:
                return response.json()
            except ValueError as exc:  # requests' JSONDecodeError is a ValueError
                raise StreamError(
                    f"{self.server_root}{path} answered with a body that is not JSON"
                ) from exc

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
        for payload in payloads(chunks):
            if payload.strip() == "[DONE]":
                return
            any_event = True
            for event in parse_chunk(payload, response.headers):
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

    def _request(
        self,
        method: str,
        path: str,
        *,
        root: bool = False,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        url = (self.server_root if root else self.base_url) + path
        timeouts = self._timeout if timeout is None else (timeout, timeout)
        try:
            return self._session.request(
                method, url, timeout=timeouts, stream=kwargs.pop("stream", True), **kwargs
            )
        except requests.exceptions.ConnectTimeout as exc:
            raise self._unreachable(exc) from exc
        except requests.exceptions.Timeout as exc:
            raise RequestTimeout(
                f"the server accepted the request but did not answer within "
                f"{timeouts[1]:g} s ({hint('timeout')})"
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

    def _raise_for_status(self, response: requests.Response, root_path: str | None = None) -> None:
        """Raise the `HTTPStatusError` for an error status; `root_path`: a path at the root."""
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
        # No such path (and no such method on it), as FastAPI says it: not an unknown model.
        no_path = speaker is None and status in (404, 405) and "model" not in message.lower()
        if root_path is not None and (no_path or (speaker is None and status == 501)):
            said = f"{status} {response.reason or ''}".rstrip()
            if message and message.lower() != (response.reason or "").lower():
                said += f": {message}"
            text = f"the server at {self.server_root} has no {root_path} endpoint ({said}); "
            raise HTTPStatusError(status, message, text + hint("no_endpoint"))
        text = f"the server answered {status} {response.reason or ''}".rstrip()
        if speaker == "upstream":
            text += " through a LiteLLM gateway"
        text = f"{text}: {message}" if message else text
        if speaker == "gateway":
            text += f" ({gateway_hint(message)})"
        elif no_path:
            text += f" ({hint('api_path', url=self.base_url)})"
        lowered = message.lower()
        if self.base_url.startswith("http://") and any(b in lowered for b in PLAIN_TO_TLS_BODIES):
            https = "https://" + self.base_url[len("http://") :]
            text = f"{text.rstrip('.')}; {hint('use_https', url=https)}"
        raise HTTPStatusError(status, message, text)


def chat_tokenize_body(
    model: str,
    messages: list[dict[str, Any]],
    chat_template_kwargs: Any = None,
    tools: Any = None,
    token_strs: bool = True,
) -> dict[str, Any]:
    """vLLM's `/tokenize` request for `messages` through the chat template, with the
    generation prompt: the prompt the next chat request makes."""
    body: dict[str, Any] = {
        "model": model,
        "messages": messages,
        "add_generation_prompt": True,
        "return_token_strs": token_strs,
    }
    if chat_template_kwargs is not None:
        body["chat_template_kwargs"] = chat_template_kwargs
    if tools:
        body["tools"] = tools
    return body


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
        raise server_failure(payload, response.headers, "reported an error")
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
    yield from tool_call_deltas(message.get("tool_calls"))
    yield Finish(choice.get("finish_reason") or "stop")
    if isinstance(payload.get("usage"), dict):
        yield usage_of(payload["usage"])

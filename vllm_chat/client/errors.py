"""The client's typed errors, and the server's own words read out of an error body.

Bodies come in every shape: vLLM's `{"error": {"message": ...}}`, FastAPI's
`{"detail": ...}`, plain text, HTML pages, and LiteLLM gateways that wrap the
words of the server behind them in their own prefixes.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Mapping
from typing import Any

from vllm_chat.client.hints import hint, shorten


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
        found = message_from_json(payload)
        if found:
            return found
    if "html" in content_type.lower() or text.lstrip().lower().startswith(("<!doctype", "<html")):
        title = re.search(r"<title[^>]*>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
        return f"an HTML page{': ' + _one_line(title.group(1)) if title else ''}"
    return _one_line(text)


def message_from_json(payload: Any) -> str:
    if isinstance(payload, str):
        return _one_line(payload)
    if isinstance(payload, list):  # FastAPI validation errors: [{"msg": ..., "loc": ...}]
        return "; ".join(filter(None, (message_from_json(item) for item in payload)))
    if not isinstance(payload, dict):
        return ""
    for key in ("error", "message", "detail", "msg"):
        if key in payload and payload[key]:
            return message_from_json(payload[key])
    return ""


def _one_line(text: str) -> str:
    return " ".join(text.split())


# LiteLLM's wrappers around an error: class names before it, routing notes after it.
# Patterns, compiled (and cached by `re`) at their first use: most runs never meet one.
_LITELLM_SEEN = (
    r"\blitellm\.\w+|Received Model Group=|No deployments available for selected model"
    r"|^No connected db\b"
)


_LITELLM_HEAD = (
    r"^(?:litellm\.[\w.]+:\s*|[A-Z]\w*(?:Error|Exception)(?::\s+|\s+-\s*)"
    r"|Error code:?\s*\d+\s*-\s*)"
)


_LITELLM_TAIL = (
    r"\s*(?:Received Model Group=|Available Model Group Fallbacks=|LiteLLM Retried:|"
    r"Passed model=|Traceback \(most recent call last\)).*$"
)


_RELAYED = r"\w+Exception\s+-"  # "Hosted_vllmException - ": a provider's words


def _gateway_words(text: str, headers: Mapping[str, str]) -> tuple[str, str | None]:
    """`text` without LiteLLM's wrappers, and whose words they are (see `server_words`)."""
    from_litellm = any(name.lower().startswith("x-litellm-") for name in headers)
    if not (from_litellm or re.search(_LITELLM_SEEN, text)):
        return text, None
    speaker = "gateway"
    for _ in range(4):  # wrappers inside a relayed body inside a wrapper...
        text = re.sub(_LITELLM_TAIL, "", text)
        while (head := re.match(_LITELLM_HEAD, text)) and head.end() > 0:
            if re.match(_RELAYED, head.group()):
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
    found = message_from_json(payload)
    return found or None


def gateway_hint(words: str) -> str:
    lowered = words.lower()
    if "no connected db" in lowered:
        return hint("no_db")
    if "no deployments available" in lowered or "cooldown" in lowered:
        return hint("cooldown")
    return hint("gateway")


def server_failure(payload: Any, headers: Mapping[str, str], what: str) -> StreamError:
    """The server's error event (or error body) as one line: who said what."""
    words, speaker = _gateway_words(message_from_json(payload), headers)
    who = {"gateway": "the LiteLLM gateway", "upstream": "the server behind a LiteLLM gateway"}
    lead = f"{who.get(speaker or '', 'the server')} {what}"
    return StreamError(f"{lead}: {shorten(words)}" if words else lead)

"""What a streamed answer is made of: the events decoded from its `data` payloads.

Pure, no I/O: `parse_chunk` turns one payload into events, `payloads` turns
the body's bytes into payloads.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from vllm_chat.client.errors import server_failure
from vllm_chat.client.sse import SSEDecoder


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
    # Prompt tokens served from the prefix cache (`prompt_tokens_details.cached_tokens`),
    # when the server says; vLLM does with --enable-prompt-tokens-details.
    cached_tokens: int | None = None
    # The usage object exactly as the server sent it (`-q --json` prints it).
    raw: dict[str, Any] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class ToolCallDelta:
    """A piece of tool call `index`: its id and name come first, its arguments in pieces."""

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""


@dataclass(frozen=True)
class Logprobs:
    """The probabilities of a chunk's tokens (`choices[0].logprobs.content`), in OpenAI's
    shape: `{"token", "logprob", "bytes", "top_logprobs": [{"token", "logprob", "bytes"}]}`,
    the alternatives sorted by probability (vLLM puts the sampled token first). Sent only
    when the server answered the request for them; `tokens` may be empty."""

    tokens: list[dict[str, Any]]


@dataclass(frozen=True)
class Finish:
    reason: str


@dataclass(frozen=True)
class BadEvent:
    """An event that was not valid JSON; skipped, reported once by the caller."""

    payload: str


StreamEvent = ContentDelta | ReasoningDelta | ToolCallDelta | Logprobs | Usage | Finish | BadEvent


def parse_chunk(payload: str, headers: Mapping[str, str] | None = None) -> list[StreamEvent]:
    """The events of one `data` payload; an error event raises the server's words."""
    try:
        chunk = json.loads(payload)
    except ValueError:
        return [BadEvent(payload)]
    if not isinstance(chunk, dict):
        return [BadEvent(payload)]
    if chunk.get("error") or chunk.get("object") == "error":
        # vLLM (and LiteLLM) report failures after the headers were sent as an event.
        raise server_failure(chunk, headers or {}, "stopped the answer")
    events: list[StreamEvent] = []
    choices = chunk.get("choices")
    # With n > 1, choices stream interleaved, one per chunk: only choice 0 is shown.
    choice = None
    if isinstance(choices, list):
        for candidate in choices:
            if isinstance(candidate, dict) and candidate.get("index", 0) == 0:
                choice = candidate
                break
    if choice is not None:
        delta = choice.get("delta") or {}
        if not isinstance(delta, dict):
            return [BadEvent(payload)]
        logprobs = choice.get("logprobs")
        if isinstance(logprobs, dict):  # first: a renderer colours the text by them
            events.append(Logprobs(token_logprobs(logprobs.get("content"))))
        reasoning = delta.get("reasoning") or delta.get("reasoning_content")
        if isinstance(reasoning, str) and reasoning:
            events.append(ReasoningDelta(reasoning))
        if isinstance(delta.get("content"), str) and delta["content"]:
            events.append(ContentDelta(delta["content"]))
        if "tool_calls" in delta:
            events += tool_call_deltas(delta["tool_calls"])
        if choice.get("finish_reason"):
            events.append(Finish(str(choice["finish_reason"])))
    usage = chunk.get("usage")
    if isinstance(usage, dict):
        events.append(usage_of(usage))
    return events


def tool_call_deltas(calls: Any) -> list[ToolCallDelta]:
    """The `tool_calls` of a delta (or of a whole message) as events, in their order."""
    if not isinstance(calls, list):
        return []
    found = []
    for position, call in enumerate(calls):
        if not isinstance(call, dict):
            continue
        function: dict[str, Any] = call.get("function") or {}
        if not isinstance(function, dict):
            function = {}
        index = int_or_none(call.get("index"))
        arguments = function.get("arguments")
        found.append(
            ToolCallDelta(
                position if index is None else index,
                call["id"] if isinstance(call.get("id"), str) else None,
                function["name"] if isinstance(function.get("name"), str) else None,
                arguments if isinstance(arguments, str) else "",
            )
        )
    return found


def token_logprobs(content: Any) -> list[dict[str, Any]]:
    """The entries of `logprobs.content`, checked, each one's alternatives sorted."""
    if not isinstance(content, list):
        return []
    entries = []
    for item in content:
        if isinstance(item, dict):
            top = item.get("top_logprobs")
            alternatives = [_token(alt) for alt in top if isinstance(alt, dict)] if isinstance(
                top, list) else []  # fmt: skip
            alternatives.sort(key=lambda alt: -alt["logprob"])  # stable: ties keep their order
            entries.append({**_token(item), "top_logprobs": alternatives})
    return entries


def _token(item: dict[str, Any]) -> dict[str, Any]:
    """One token: its text, log probability (vLLM's floor, -9999, when absent) and bytes."""
    token = item.get("token")
    logprob = item.get("logprob")
    raw = item.get("bytes")
    return {
        "token": token if isinstance(token, str) else "",
        "logprob": float(logprob) if isinstance(logprob, (int, float)) else -9999.0,
        "bytes": raw if isinstance(raw, list) and all(isinstance(b, int) for b in raw) else None,
    }


def payloads(chunks: Iterator[bytes]) -> Iterator[str]:
    """The `data` payloads of the event stream in `chunks`, the last one included."""
    decoder = SSEDecoder()
    for chunk in chunks:
        yield from decoder.feed(chunk)
    yield from decoder.close()


def usage_of(usage: dict[str, Any]) -> Usage:
    prompt = int_or_none(usage.get("prompt_tokens")) or 0
    completion = int_or_none(usage.get("completion_tokens")) or 0
    total = int_or_none(usage.get("total_tokens")) or prompt + completion
    details = usage.get("prompt_tokens_details")
    cached = int_or_none(details.get("cached_tokens")) if isinstance(details, dict) else None
    return Usage(prompt, completion, total, cached, raw=usage)


def int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None

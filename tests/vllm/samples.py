"""What the real vLLM server sends, recorded, and the shapes the stand-in is held to.

`samples/vllm-0.32.0.json` holds one exchange per name: the request, then the status,
content type and body (the events, for a stream) that vLLM answered. It is recorded
from the real server by the real-server suite (VLLM_CHAT_RECORD_SAMPLES=1 make
test-vllm), which otherwise checks that the live server still answers in the recorded
shapes; the fast suite checks that the stand-in answers in them too.

A shape is the set of `path: type` lines of a JSON value, values left out:
`choices[].delta.content: str`, `usage: null`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

SAMPLES = Path(__file__).with_name("samples") / "vllm-0.32.0.json"
WRONG_KEY = "wrong-key"


@dataclass(frozen=True)
class Exchange:
    """One request to send: `auth` is "key" (the server's), "wrong" or "none"."""

    method: str
    path: str  # under the server's root: /v1/models, /health, /tokenize
    body: dict[str, Any] | None = None
    auth: str = "key"


def exchanges(model: str, max_model_len: int, eos_id: int | None = None) -> dict[str, Exchange]:
    """The requests whose answers are recorded, for a server serving `model`.

    `ignore_eos` and a seed keep a random model's answers the same from run to run, and
    so their shapes (a last token that is part of a character comes with an empty
    delta). `eos_id`, the tiny model's end token, records an answer that the model ends
    itself: two tokens, then the end token, forced.
    """
    hello = [{"role": "user", "content": "hello"}]
    repeatable = {"ignore_eos": True, "seed": 0}

    def chat(auth: str = "key", **body: Any) -> Exchange:
        body = {"model": model, "messages": hello, **body}
        return Exchange("POST", "/v1/chat/completions", body, auth)

    by_eos = {}
    if eos_id is not None:
        ended = {"min_tokens": 2, "seed": 0, "logit_bias": {str(eos_id): 100}}
        by_eos["stream_ended_by_the_model"] = chat(stream=True, max_tokens=8, **ended)
    usage = {"include_usage": True}
    return by_eos | {
        "models": Exchange("GET", "/v1/models"),
        "version": Exchange("GET", "/version", auth="none"),
        "health": Exchange("GET", "/health", auth="none"),
        "stream_with_usage": chat(stream=True, max_tokens=3, stream_options=usage, **repeatable),
        "stream": chat(stream=True, max_tokens=3, **repeatable),
        # Token probabilities (one alternative: the sampled token's own entry), and more
        # alternatives than vLLM's --max-logprobs (20) allows: refused inside the stream.
        "stream_with_logprobs": chat(stream=True, max_tokens=3, logprobs=True, top_logprobs=1,
                                     stream_options=usage, **repeatable),  # fmt: skip
        "logprobs_over_max": chat(stream=True, max_tokens=3, logprobs=True, top_logprobs=21),
        "completion": chat(max_tokens=3, **repeatable),
        "unknown_model": chat(model="nope"),
        "wrong_key": chat(auth="wrong"),
        "max_tokens_over_context": chat(max_tokens=max_model_len + 1),
        "tokenize_chat": Exchange(
            "POST",
            "/tokenize",
            {"model": model, "messages": hello, "add_generation_prompt": True,
             "return_token_strs": True},
            auth="none",
        ),  # fmt: skip
    }


def fetch(root: str, key: str | None, exchange: Exchange) -> dict[str, Any]:
    """Send `exchange` to the server at `root`; its status, content type and body."""
    token = {"key": key, "wrong": WRONG_KEY, "none": None}[exchange.auth]
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    reply = requests.request(
        exchange.method, root + exchange.path, json=exchange.body, headers=headers, timeout=30
    )
    content_type = reply.headers.get("Content-Type", "")
    answer: dict[str, Any] = {"status": reply.status_code, "content_type": content_type}
    if content_type.startswith("text/event-stream"):
        lines = [line for line in reply.text.splitlines() if line.startswith("data: ")]
        answer["events"] = [
            line[6:] if line == "data: [DONE]" else json.loads(line[6:]) for line in lines
        ]
    elif "json" in content_type and reply.content:
        answer["body"] = reply.json()
    else:
        answer["text"] = reply.text
    return answer


def record(
    root: str, key: str | None, model: str, max_model_len: int, eos_id: int | None
) -> dict[str, Any]:
    """Every exchange's request and answer, from the server at `root`."""
    return {
        name: {"request": exchange.__dict__, **fetch(root, key, exchange)}
        for name, exchange in exchanges(model, max_model_len, eos_id).items()
    }


def load() -> dict[str, Any]:
    return json.loads(SAMPLES.read_text())  # type: ignore[no-any-return]


def save(samples: dict[str, Any]) -> None:
    SAMPLES.parent.mkdir(exist_ok=True)
    SAMPLES.write_text(json.dumps(samples, indent=1, ensure_ascii=False) + "\n")


def shape(value: Any, path: str = "") -> set[str]:
    """`path: type` for every leaf of `value` (lists merge their items' shapes)."""
    if isinstance(value, dict):
        if not value:
            return {f"{path}: {{}}"}
        return set().union(
            *(shape(item, f"{path}.{key}" if path else key) for key, item in value.items())
        )
    if isinstance(value, list):
        if not value:
            return {f"{path}: []"}
        return set().union(*(shape(item, f"{path}[]") for item in value))
    kind = "null" if value is None else type(value).__name__
    return {f"{path}: {'number' if kind in ('int', 'float') else kind}"}


def stream_parts(events: list[Any]) -> dict[str, set[str]]:
    """The shapes of a stream's kinds of chunk: first, middle, last token, usage."""
    chunks = [event for event in events if isinstance(event, dict)]
    parts: dict[str, set[str]] = {"first": shape(chunks[0])}
    tokens = [chunk for chunk in chunks[1:] if chunk.get("choices")]
    if len(tokens) > 1:
        parts["middle"] = set().union(*(shape(chunk) for chunk in tokens[:-1]))
    if tokens:
        parts["last"] = shape(tokens[-1])
    usage = [chunk for chunk in chunks if not chunk.get("choices")]
    if usage:
        parts["usage"] = shape(usage[0])
    parts["done"] = {str(events[-1])}
    return parts


def answer_shapes(answer: dict[str, Any]) -> dict[str, set[str]]:
    """An answer's shapes by part: status, content type, body or stream chunks."""
    parts = {
        "status": {str(answer["status"])},
        "content_type": {answer["content_type"].split(";")[0]},
    }
    if "events" in answer:
        parts.update(stream_parts(answer["events"]))
    elif "body" in answer:
        parts["body"] = shape(answer["body"])
    else:
        parts["text"] = {answer["text"]}
    return parts

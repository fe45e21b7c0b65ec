"""What a server says about itself: its version, health, model cards, live figures, tokens.

vLLM serves `/version`, `/health`, `/metrics` and `/tokenize` at its root, not under
`/v1`; each function here asks one of them through `Client.call_root` and raises its
`ApiError`s. `/metrics` is Prometheus text, read with `prometheus_client`'s parser,
imported only when figures are asked for (never on the `--help` or `-q` path).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from vllm_chat.client.api import Client, chat_tokenize_body
from vllm_chat.client.errors import ApiError, HTTPStatusError, StreamError
from vllm_chat.client.events import int_or_none

__all__ = [
    "METRIC_NAMES",
    "Metrics",
    "MetricsError",
    "ModelCard",
    "Rates",
    "Tokens",
    "health",
    "metrics",
    "model_cards",
    "no_endpoint",
    "parse_metrics",
    "rates",
    "tokenize_messages",
    "tokenize_text",
    "version",
]

TOKENS_TIMEOUT = 10.0  # seconds for /tokenize asked by the user: a long chat takes a while
LOOK_TIMEOUT = 10.0  # seconds for /version, /health and /metrics: a hung server is news too


class MetricsError(ApiError):
    """`/metrics` answered with something that is not vLLM's Prometheus text."""


@dataclass(frozen=True)
class ModelCard:
    """One entry of `GET /models`: a LoRA adapter has its base model as `parent`."""

    id: str
    root: str | None = None
    parent: str | None = None
    max_model_len: int | None = None


@dataclass(frozen=True)
class Tokens:
    """`POST /tokenize`'s answer: the count, the context length, the token strings."""

    count: int
    max_model_len: int | None
    strs: list[str] | None


# Each figure and the names vLLM has given it, newest first (sample names as exposed).
METRIC_NAMES: dict[str, tuple[str, ...]] = {
    "running": ("vllm:num_requests_running",),
    "waiting": ("vllm:num_requests_waiting",),
    "kv_cache": ("vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc"),
    "prefix_queries": ("vllm:prefix_cache_queries_total", "vllm:gpu_prefix_cache_queries_total"),
    "prefix_hits": ("vllm:prefix_cache_hits_total", "vllm:gpu_prefix_cache_hits_total"),
    "prefix_hit_rate": ("vllm:gpu_prefix_cache_hit_rate",),  # vLLM's V0 engine: a gauge
    "prompt_tokens": ("vllm:prompt_tokens_total",),
    "generation_tokens": ("vllm:generation_tokens_total",),
}
# Gauges that are a share (0 to 1) are averaged over engines; counts are added up.
_AVERAGED = {"kv_cache", "prefix_hit_rate"}


@dataclass(frozen=True)
class Metrics:
    """The figures of one look at `/metrics`; a figure the server did not send is None."""

    taken: float  # time.monotonic() when they were read
    running: float | None = None
    waiting: float | None = None
    kv_cache: float | None = None  # share of the KV cache in use, 0 to 1
    prefix_queries: float | None = None  # prompt tokens looked up in the prefix cache
    prefix_hits: float | None = None  # ... and found there
    prefix_hit_rate: float | None = None  # only where the server gives the rate itself
    prompt_tokens: float | None = None  # counters since the server started
    generation_tokens: float | None = None

    def hit_rate(self) -> float | None:
        """The prefix cache's share of hits since the server started, if known."""
        if self.prefix_queries and self.prefix_hits is not None:
            return self.prefix_hits / self.prefix_queries
        return self.prefix_hit_rate


@dataclass(frozen=True)
class Rates:
    """What happened between two looks at `/metrics`."""

    seconds: float
    prompt_per_second: float | None
    generation_per_second: float | None
    hit_rate: float | None  # of the prefix-cache queries made in between


def parse_metrics(text: str, taken: float | None = None) -> Metrics:
    """vLLM's figures out of Prometheus exposition text; MetricsError if it is not that.

    Samples of one name (one per engine, per model) are added up, or averaged for
    a share. Both generations of names are read (see `METRIC_NAMES`).
    """
    from prometheus_client.parser import text_string_to_metric_families

    values: dict[str, list[float]] = {}
    try:
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                values.setdefault(sample.name, []).append(float(sample.value))
    except (ValueError, TypeError, IndexError, KeyError) as exc:
        raise MetricsError("its /metrics is not Prometheus text") from exc
    if not any(name.startswith("vllm:") for name in values):
        raise MetricsError("its /metrics has no vLLM figures")
    figures: dict[str, float] = {}
    for figure, names in METRIC_NAMES.items():
        found = next((values[name] for name in names if name in values), None)
        if found:
            total = sum(found)
            figures[figure] = total / len(found) if figure in _AVERAGED else total
    return Metrics(time.monotonic() if taken is None else taken, **figures)


def rates(before: Metrics, after: Metrics) -> Rates | None:
    """Throughput and prefix-cache hits from `before` to `after`; None if no time passed.

    A counter that went down (the server restarted) gives no rate.
    """
    seconds = after.taken - before.taken
    if seconds <= 0:
        return None

    def per_second(old: float | None, new: float | None) -> float | None:
        if old is None or new is None or new < old:
            return None
        return (new - old) / seconds

    hit_rate = None
    queries = _delta(before.prefix_queries, after.prefix_queries)
    hits = _delta(before.prefix_hits, after.prefix_hits)
    if queries and hits is not None:
        hit_rate = hits / queries
    return Rates(
        seconds,
        per_second(before.prompt_tokens, after.prompt_tokens),
        per_second(before.generation_tokens, after.generation_tokens),
        hit_rate,
    )


def _delta(old: float | None, new: float | None) -> float | None:
    return None if old is None or new is None or new < old else new - old


def version(client: Client) -> str | None:
    """`GET /version`: the server's version (vLLM's), or None if its answer has none."""
    answer = client.call_root("GET", "/version", timeout=LOOK_TIMEOUT)
    found = answer.get("version") if isinstance(answer, dict) else None
    return found if isinstance(found, str) and found else None


def health(client: Client) -> None:
    """`GET /health`: returns if the server says it is healthy, else raises its error."""
    client.call_root("GET", "/health", timeout=LOOK_TIMEOUT)


def model_cards(client: Client) -> list[ModelCard]:
    """`GET /models` as cards: root, parent (a LoRA adapter's base) and context length."""
    return [
        ModelCard(
            str(card["id"]),
            _text_or_none(card.get("root")),
            _text_or_none(card.get("parent")),
            int_or_none(card.get("max_model_len")),
        )
        for card in client.model_cards()
    ]


def metrics(client: Client) -> Metrics:
    """`GET /metrics`, read (see `parse_metrics`)."""
    answer = client.call_root("GET", "/metrics", timeout=LOOK_TIMEOUT)
    if not isinstance(answer, str):
        raise MetricsError("its /metrics is not Prometheus text")
    return parse_metrics(answer)


def tokenize_text(client: Client, model: str, text: str) -> Tokens:
    """vLLM's `POST /tokenize` of `text` alone: its own tokens, no special ones added."""
    body = {"model": model, "prompt": text, "add_special_tokens": False, "return_token_strs": True}
    return _tokens(client, body, TOKENS_TIMEOUT)


def tokenize_messages(
    client: Client,
    model: str,
    messages: list[dict[str, Any]],
    *,
    chat_template_kwargs: Any = None,
    tools: Any = None,
    token_strs: bool = True,
    timeout: float = TOKENS_TIMEOUT,
) -> Tokens:
    """vLLM's `POST /tokenize` of `messages` through the chat template, generation
    prompt included: what the next request's prompt costs."""
    body = chat_tokenize_body(model, messages, chat_template_kwargs, tools, token_strs)
    return _tokens(client, body, timeout)


def _tokens(client: Client, body: dict[str, Any], timeout: float) -> Tokens:
    answer = client.call_root("POST", "/tokenize", json_body=body, timeout=timeout)
    count = int_or_none(answer.get("count")) if isinstance(answer, dict) else None
    if count is None:
        raise StreamError(f"the server at {client.server_root} answered /tokenize without a count")
    strs = answer.get("token_strs")
    if not isinstance(strs, list) or not all(isinstance(s, str) for s in strs):
        strs = None
    return Tokens(count, int_or_none(answer.get("max_model_len")), strs)


def no_endpoint(exc: BaseException) -> bool:
    """Whether `exc` says that the server has no such endpoint (not vLLM: llama.cpp, ...)."""
    return isinstance(exc, HTTPStatusError) and exc.status in (404, 405, 501)


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None

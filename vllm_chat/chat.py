"""One chat session: the state a turn needs and the turn itself."""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from vllm_chat.api import (
    ApiError,
    BadEvent,
    Client,
    ContentDelta,
    Finish,
    HTTPStatusError,
    ModelInfo,
    ReasoningDelta,
    StreamError,
    Usage,
)
from vllm_chat.conversation import Conversation
from vllm_chat.render import PlainRenderer, Renderer, status_line
from vllm_chat.terminal import quiet_input


class NoModelError(ApiError):
    """The server lists no model and none was named."""


def plain_to_stdout() -> Renderer:
    return PlainRenderer(sys.stdout, sys.stderr)


@dataclass
class TurnStats:
    """Timing and token counts of one answer."""

    started: float
    first_token: float | None = None
    ended: float | None = None
    usage: Usage | None = None
    deltas: int = 0  # content and reasoning pieces, the count when no usage arrives

    @property
    def ttft_ms(self) -> float | None:
        return None if self.first_token is None else (self.first_token - self.started) * 1000

    def line(self) -> str:
        """`TTFT 312 ms · 48.1 tokens/s · 25 prompt + 131 completion tokens`."""
        parts = []
        if self.ttft_ms is not None:
            parts.append(f"TTFT {self.ttft_ms:.0f} ms")
        tokens = self.usage.completion_tokens if self.usage else self.deltas
        approx = "" if self.usage else "~"
        if self.first_token is not None and self.ended is not None:
            elapsed = self.ended - self.first_token
            if elapsed > 0 and tokens > 1:
                # Decode speed: the first token's time belongs to TTFT.
                parts.append(f"{approx}{(tokens - 1) / elapsed:.1f} tokens/s")
        if self.usage:
            parts.append(
                f"{self.usage.prompt_tokens} prompt + {self.usage.completion_tokens} "
                "completion tokens"
            )
        else:
            parts.append(f"~{tokens} tokens (the server sent no usage)")
        return " · ".join(parts)


@dataclass
class Chat:
    """Model, settings and conversation, and `send()` to run one turn."""

    client: Client
    model: str | None = None
    conversation: Conversation = field(default_factory=Conversation)
    sampling: dict[str, Any] = field(default_factory=dict)
    stats: bool = False
    make_renderer: Callable[[], Renderer] = field(default=lambda: plain_to_stdout())
    report: Callable[..., None] = status_line
    last_stats: TurnStats | None = None
    _models: list[ModelInfo] | None = None
    _model_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def models(self, *, refresh: bool = False) -> list[ModelInfo]:
        """The server's models, fetched once and kept."""
        if self._models is None or refresh:
            self._models = self.client.models()
        return self._models

    def model_ids(self) -> list[str]:
        return [model.id for model in self.models()]

    def ensure_model(self) -> str:
        """The model in use; the server's first model when none was named.

        Safe to call from a background thread at start-up while the first
        message waits for the same answer.
        """
        with self._model_lock:
            if self.model is None:
                models = self.models(refresh=True)
                if not models:
                    raise NoModelError(f"the server at {self.client.base_url} lists no models")
                self.model = models[0].id
            return self.model

    def _explain_missing_model(self, error: HTTPStatusError) -> HTTPStatusError:
        """A 404 about the model: say which models the server does have."""
        if "model" not in error.server_message.lower():
            return error
        try:
            names = ", ".join(model.id for model in self.models(refresh=True))
        except ApiError:
            return error
        return HTTPStatusError(
            error.status, error.server_message, f"{error}; the server has: {names or 'no models'}"
        )

    def request_body(self) -> dict[str, Any]:
        return {
            "model": self.ensure_model(),
            "messages": self.conversation.request_messages(),
            **self.sampling,
            "stream": True,
            "stream_options": {"include_usage": True},
        }

    def send(self, text: Any) -> str:
        """Run one turn: ask, stream the answer to a renderer, record it.

        On failure before any answer arrives, the conversation is left as it
        was and the error is raised. A partial answer (connection lost, Ctrl-C)
        is kept, marked, and recorded as the assistant's turn so that roles
        keep alternating; then the error or `KeyboardInterrupt` is raised.
        """
        self.conversation.add_user(text)
        try:
            body = self.request_body()
        except BaseException:
            self.conversation.drop_unanswered()
            raise
        stats = TurnStats(started=time.perf_counter())
        self.last_stats = stats
        renderer: Renderer | None = None
        answer: list[str] = []
        warned_bad_event = False
        finish_reason = None
        try:
            events = self.client.stream_chat(body)
            with quiet_input(), contextlib.closing(events):
                for event in events:
                    if isinstance(event, (ContentDelta, ReasoningDelta)):
                        if stats.first_token is None:
                            stats.first_token = time.perf_counter()
                        stats.deltas += 1
                        if renderer is None:
                            renderer = self.make_renderer()
                        if isinstance(event, ContentDelta):
                            answer.append(event.text)
                            renderer.feed(event.text)
                        else:
                            renderer.feed_reasoning(event.text)
                    elif isinstance(event, Usage):
                        stats.usage = event
                    elif isinstance(event, BadEvent) and not warned_bad_event:
                        warned_bad_event = True
                        self.report("skipped an event that was not valid JSON", kind="warn")
                    elif isinstance(event, Finish):
                        finish_reason = event.reason
        except (ApiError, KeyboardInterrupt) as exc:
            stats.ended = time.perf_counter()
            note = "interrupted" if isinstance(exc, KeyboardInterrupt) else "incomplete"
            if renderer is not None:
                renderer.finish(note)
            elif isinstance(exc, KeyboardInterrupt):
                self.report("[interrupted before the answer began]", kind="warn")
            if answer:
                self.conversation.add_assistant("".join(answer), partial=True)
            else:
                self.conversation.drop_unanswered()
            if isinstance(exc, StreamError) and answer:
                raise StreamError(f"{exc}; the partial answer was kept") from exc
            if isinstance(exc, HTTPStatusError) and exc.status == 404:
                raise self._explain_missing_model(exc) from exc
            raise
        stats.ended = time.perf_counter()
        if renderer is None:
            renderer = self.make_renderer()
        renderer.finish()
        text = "".join(answer)
        self.conversation.add_assistant(text)
        if finish_reason == "length":
            self.report("the answer stopped at the token limit (max_tokens)", kind="warn")
        if self.stats:
            self.report(stats.line(), kind="info")
        return text

"""One chat session: the state a turn needs and the turn itself."""

from __future__ import annotations

import contextlib
import json
import sys
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from vllm_chat.chat.answer import AnswerStream
from vllm_chat.chat.attachments import Attachments
from vllm_chat.chat.conversation import Conversation
from vllm_chat.chat.think import prompt_opens_think
from vllm_chat.client.api import (
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
from vllm_chat.client.hints import hint
from vllm_chat.render.plain import PlainRenderer, Renderer
from vllm_chat.render.terminal import quiet_input
from vllm_chat.render.text import status_line


class NoModelError(ApiError):
    """The server lists no model and none was named."""


class NothingToRetry(ApiError):
    """`/retry` or `/edit` with no message sent yet."""


def plain_to_stdout() -> Renderer:
    """The renderer of a `Chat` that was given none: the answer as text on stdout."""
    return PlainRenderer(sys.stdout, sys.stderr)


# A decode rate means something only when measured over this long a window, with its
# deltas in this many separate arrivals: deltas bunched in one network read arrive in
# no time at all (one such run once claimed 33130 tokens/s).
RATE_MIN_WINDOW = 0.2  # seconds from the first delta to the last
RATE_MIN_ARRIVALS = 4
ARRIVAL_GAP = 0.0005  # seconds: a delta this long after the previous one came in a later read


@dataclass
class TurnStats:
    """Timing and token counts of one answer (times from `time.perf_counter()`)."""

    started: float
    first_token: float | None = None
    ended: float | None = None
    usage: Usage | None = None
    deltas: int = 0  # content and reasoning pieces, the count when no usage arrives
    last_token: float | None = None
    arrivals: int = 0  # runs of deltas that came apart from each other (see ARRIVAL_GAP)

    def note_delta(self, now: float) -> None:
        """A content or reasoning delta arrived at `now`."""
        if self.first_token is None:
            self.first_token = now
            self.arrivals = 1
        elif self.last_token is not None and now - self.last_token > ARRIVAL_GAP:
            self.arrivals += 1
        self.last_token = now
        self.deltas += 1

    @property
    def ttft_ms(self) -> float | None:
        return None if self.first_token is None else (self.first_token - self.started) * 1000

    @property
    def tokens_per_second(self) -> float | None:
        """Decode speed from the first delta to the last (the first token's time is TTFT's).

        None when that window is too short, or its deltas too bunched, to mean anything.
        """
        tokens = self.usage.completion_tokens if self.usage else self.deltas
        if self.first_token is None or self.last_token is None or tokens < 2:
            return None
        window = self.last_token - self.first_token
        if window < RATE_MIN_WINDOW or self.arrivals < RATE_MIN_ARRIVALS:
            return None
        return (tokens - 1) / window

    @property
    def total_seconds(self) -> float | None:
        """From sending the request to the end of the answer."""
        return None if self.ended is None else self.ended - self.started

    def line(self) -> str:
        """`TTFT 312 ms · 48.1 tokens/s · 2.9 s · 25 prompt + 131 completion tokens`."""
        parts = []
        if self.ttft_ms is not None:
            parts.append(f"TTFT {self.ttft_ms:.0f} ms")
        tokens = self.usage.completion_tokens if self.usage else self.deltas
        if self.tokens_per_second is not None:
            parts.append(f"{'' if self.usage else '~'}{self.tokens_per_second:.1f} tokens/s")
        total = self.total_seconds
        if total is not None:
            parts.append(f"{total:.2f} s" if total < 1 else f"{total:.1f} s")
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
    make_renderer: Callable[[], Renderer] = plain_to_stdout
    make_spinner: Callable[[], AbstractContextManager[object] | None] = lambda: None
    report: Callable[..., None] = status_line
    think: str = "show"  # "show", "hide" or "collapse"
    attachments: Attachments = field(default_factory=Attachments)
    last_stats: TurnStats | None = None
    context_tokens: int | None = None  # prompt + answer of the last turn, from its usage
    unsent: Any = None  # the message of a turn that got no answer, for /retry
    # (model, chat_template_kwargs as JSON) -> does the chat template open <think>?
    # Asked of the server's /tokenize once per key, never guessed from an answer.
    think_templates: dict[tuple[str, str], bool] = field(default_factory=dict)
    _models: list[ModelInfo] | None = None
    _listing_models: bool = False
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

    def switch_model(self, name: str) -> None:
        """Use `name` from now on (after any start-up choice of the first model)."""
        with self._model_lock:
            self.model = name
            self.context_tokens = None

    def server_changed(self) -> None:
        """After `/connect`: forget what the old server said; the conversation stays."""
        with self._model_lock:
            self._models = None
            self.think_templates.clear()
            self.context_tokens = None

    def _explain_missing_model(self, error: HTTPStatusError) -> HTTPStatusError:
        """A 404 about the model: say which models the server does have."""
        if "model" not in error.server_message.lower():
            return error
        try:
            names = ", ".join(model.id for model in self.models(refresh=True))
        except ApiError:
            return error
        return HTTPStatusError(
            error.status,
            error.server_message,
            f"{str(error).rstrip('.')}; the server has: {names or 'no models'}",
        )

    def request_body(self) -> dict[str, Any]:
        return {
            **self.sampling,  # first: the keys below are vllm-chat's own
            "model": self.ensure_model(),
            "messages": self.conversation.request_messages(),
            "stream": True,
            "stream_options": {"include_usage": True},
        }

    def send(self, text: Any) -> str:
        """Send a message (with any pending attachments) and stream the answer.

        On failure before any answer arrives, the conversation is left as it
        was, the message is kept for `/retry`, and the error is raised. A
        partial answer (connection lost, Ctrl-C) is kept, marked, and recorded
        as the assistant's turn so that roles keep alternating; then the error
        or `KeyboardInterrupt` is raised.
        """
        content = self.attachments.content(text) if isinstance(text, str) else text
        self.attachments.clear()  # they travel in this message (kept in `unsent` if it fails)
        return self._turn(content)

    def retry(self) -> str:
        """Send the last user message again, replacing its answer."""
        return self.resend(lambda content: content)

    def resend(self, change: Callable[[Any], Any]) -> str:
        """Replace the last exchange by `change(its user message)`, sent again.

        If that fails before any answer, the new message waits in `unsent`
        for the next `/retry`, in the old exchange's place.
        """
        if self.unsent is not None:
            return self._turn(change(self.unsent))
        removed = self.conversation.pop_exchange()
        if not removed:
            raise NothingToRetry("there is no message to send again")
        return self._turn(change(removed[0].content))

    def last_user_content(self) -> Any:
        """The message `/retry` and `/edit` act on: the unsent one, else the last sent."""
        if self.unsent is not None:
            return self.unsent
        for message in reversed(self.conversation.messages):
            if message.role == "user":
                return message.content
        return None

    def _turn(self, content: Any) -> str:
        self.unsent = None
        self.conversation.add_user(content)
        try:
            body = self.request_body()
        except BaseException:
            self._forget_unanswered(content)
            raise
        spinner = self.make_spinner()
        template_key = _template_key(body)
        probed_now = template_key not in self.think_templates
        try:
            with quiet_input():
                opens_think = self._template_opens_think(body, template_key)
        except BaseException as exc:  # Ctrl-C (or a bug) while the server was asked
            if spinner is not None:
                spinner.__exit__(None, None, None)
            if isinstance(exc, KeyboardInterrupt):
                self.report("[interrupted before the answer began]", kind="warn")
            self._forget_unanswered(content)
            raise
        stats = TurnStats(started=time.perf_counter())
        self.last_stats = stats
        answer = AnswerStream(
            self.make_renderer,
            think=self.think,
            template_opens_think=opens_think,
            spinner=spinner,
        )
        finish_reason = None
        warned_bad_event = False
        saw_words = False  # reasoning, or content not all blank
        try:
            events = self.client.stream_chat(body)
            with quiet_input(), contextlib.closing(events):
                for event in events:
                    if isinstance(event, (ContentDelta, ReasoningDelta)):
                        stats.note_delta(time.perf_counter())
                        if isinstance(event, ContentDelta):
                            saw_words = saw_words or bool(event.text.strip())
                            answer.content(event.text)
                        else:
                            saw_words = True
                            answer.reasoning(event.text)
                    elif isinstance(event, Usage):
                        stats.usage = event
                    elif isinstance(event, BadEvent) and not warned_bad_event:
                        warned_bad_event = True
                        self.report("skipped an event that was not valid JSON", kind="warn")
                    elif isinstance(event, Finish):
                        finish_reason = event.reason
        except BaseException as exc:  # Ctrl-C, a failure, or a bug: the turn ends cleanly
            stats.ended = time.perf_counter()
            interrupted = isinstance(exc, KeyboardInterrupt)
            note = "interrupted" if interrupted else "incomplete"
            # The spinner and the live region must stop, even if the renderer failed.
            with contextlib.suppress(Exception):
                answer.finish(note if answer.shown_anything else None)
            if interrupted and not answer.shown_anything:
                self.report("[interrupted before the answer began]", kind="warn")
            if probed_now and not answer.shown_anything:  # no server yet? Ask next time.
                self.think_templates.pop(template_key, None)
            if answer.answer_text:
                self.conversation.add_assistant(answer.answer_text, partial=True)
            else:
                self._forget_unanswered(content)
            if isinstance(exc, StreamError) and answer.answer_text:
                raise StreamError(f"{str(exc).rstrip('.')}; the partial answer was kept") from exc
            if isinstance(exc, HTTPStatusError) and exc.status == 404:
                raise self._explain_missing_model(exc) from exc
            if isinstance(exc, HTTPStatusError) and "context" in exc.server_message.lower():
                raise HTTPStatusError(
                    exc.status,
                    exc.server_message,
                    f"{exc} ({hint('context')})",
                ) from exc
            raise
        stats.ended = time.perf_counter()
        answer.finish()
        if answer.never_closed_think and finish_reason != "length":
            # The template opens <think>, yet the model answered without closing it:
            # from now on its answers start as answers (the server's word was wrong).
            self.think_templates[template_key] = False
        text = answer.answer_text
        self.conversation.add_assistant(text)
        if stats.usage is not None:
            self.context_tokens = stats.usage.total_tokens
        note = self._ending_note(body, finish_reason, text, saw_words, stats)
        if note:
            self.report(note, kind="warn")
        if self.stats:
            self.report(stats.line(), kind="info")
        return text

    def _ending_note(
        self,
        body: dict[str, Any],
        finish_reason: str | None,
        text: str,
        saw_words: bool,
        stats: TurnStats,
    ) -> str | None:
        """What to say about how an answer ended: cut by a limit (which one), or empty."""
        limit = self._limit_hit(body, stats) if finish_reason == "length" else None
        if text.strip():
            return f"the answer stopped at {limit}" if limit else None
        # Words came, yet no answer is left: they were all thinking.
        empty = "no answer after the reasoning" if saw_words else "empty answer"
        if limit:
            return f"({empty}: it stopped at {limit})"
        if finish_reason not in (None, "stop"):
            return f"({empty}; finish reason: {finish_reason})"
        return f"({empty})"

    def _limit_hit(self, body: dict[str, Any], stats: TurnStats) -> str:
        """Which token limit a `length` finish hit: the one sent, else the context window."""
        for key in ("max_completion_tokens", "max_tokens"):
            if isinstance(body.get(key), int):
                return f"the token limit ({key} {body[key]})"
        window = None
        with contextlib.suppress(ApiError):  # asked only now: one request, in a rare case
            window = next((m.max_model_len for m in self.models() if m.id == body["model"]), None)
        if window is None:
            return "the end of the model's context window (no max_tokens was sent)"
        if stats.usage is not None and stats.usage.total_tokens < window:
            return (
                f"a limit the server set (no max_tokens was sent; the {window:,}-token "
                "context window was not full)"
            )
        return f"the end of the model's context window ({window:,} tokens, prompt and answer)"

    def _forget_unanswered(self, content: Any) -> None:
        """No answer came: the conversation is as before; `/retry` can send it again."""
        self.conversation.drop_unanswered()
        self.unsent = content

    def _template_opens_think(self, body: dict[str, Any], key: tuple[str, str]) -> bool:
        """Does the chat template open `<think>` itself? The server's /tokenize says.

        Its prompt for this conversation ending in `<think>` means the answer
        starts inside the think block (Qwen3 thinking models, DeepSeek-R1 served
        without a reasoning parser). Asked once per model and template
        arguments; a server without /tokenize (not vLLM) means no.
        """
        if key not in self.think_templates:
            kwargs = body.get("chat_template_kwargs")
            token_strs = self.client.tokenize_chat(
                body["model"], _probe_messages(body["messages"]), kwargs
            )
            self.think_templates[key] = token_strs is not None and prompt_opens_think(token_strs)
        return self.think_templates[key]

    def undo(self) -> int:
        """Forget the last exchange, and a failed message waiting for /retry; how many went."""
        dropped = 0 if self.unsent is None else 1
        self.unsent = None
        self.context_tokens = None  # unknown until the next answer's usage
        return dropped + len(self.conversation.pop_exchange())

    def reset(self) -> int:
        """Forget the conversation and pending attachments (the system prompt stays).

        Returns how many attachments were dropped.
        """
        self.conversation.reset()
        dropped = self.attachments.clear()
        self.unsent = None
        self.context_tokens = None
        return dropped

    def max_model_len(self) -> int | None:
        """The current model's context length, if known; never waits for the server.

        With the model named up front the list was never fetched: it is then
        fetched once in the background, and known at the next call.
        """
        if self._models is None and not self._listing_models:
            self._listing_models = True
            threading.Thread(target=self._list_models_quietly, daemon=True).start()
        for model in self._models or []:
            if model.id == self.model:
                return model.max_model_len
        return None

    def _list_models_quietly(self) -> None:
        with contextlib.suppress(ApiError):
            self.models()


def _template_key(body: dict[str, Any]) -> tuple[str, str]:
    """What the chat template's opening depends on: the model and its arguments."""
    kwargs = body.get("chat_template_kwargs")
    return str(body["model"]), json.dumps(kwargs, sort_keys=True, default=str)


def _probe_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A small stand-in for the conversation: its system prompt and last message, as text.

    The generation prompt the template appends does not depend on the history,
    and text alone spares the server from loading images for a probe.
    """
    kept = [m for m in messages[:-1] if m.get("role") == "system"] + messages[-1:]
    return [{"role": m.get("role"), "content": _text_only(m.get("content"))} for m in kept]


def _text_only(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text") for p in content if isinstance(p, dict)]
        return "\n".join(p for p in parts if isinstance(p, str))
    return ""

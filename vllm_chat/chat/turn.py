"""One turn: stream the answer to one request to a renderer, and say how it went.

A `Turn` is given everything it needs (the client, the request body, the
renderer, the spinner) and returns a `TurnResult`; it changes no state of the
chat. `Chat` (session.py) records the result in the conversation.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from vllm_chat.chat.answer import AnswerStream
from vllm_chat.client.api import Client
from vllm_chat.client.events import (
    BadEvent,
    ContentDelta,
    Finish,
    Logprobs,
    ReasoningDelta,
    ToolCallDelta,
    Usage,
)
from vllm_chat.render.environment import Environment
from vllm_chat.render.plain import Renderer
from vllm_chat.render.terminal import quiet_input
from vllm_chat.render.text import status_line

# A decode rate means something only when measured over this long a window, with its
# deltas in this many separate arrivals: deltas bunched in one network read arrive in
# no time at all (one such run once claimed 33130 tokens/s). The window is short because
# real servers are fast: vLLM's CPU build streams 30 tokens of a tiny model in 70 ms,
# each in a read of its own.
RATE_MIN_WINDOW = 0.02  # seconds from the first delta to the last
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
    # The last delta read after a wait for data, so timed as it arrived: its number and
    # its time. One already in the socket (it came while the reader drew or rested, see
    # `render.pace.ReadPace`) is timed late. None: not known (every delta counts).
    seen: tuple[int, float] | None = None

    def note_delta(self, now: float) -> None:
        """A content or reasoning delta arrived at `now`."""
        if self.first_token is None:
            self.first_token = now
            self.arrivals = 1
        elif self.last_token is not None and now - self.last_token > ARRIVAL_GAP:
            self.arrivals += 1
        self.last_token = now
        self.deltas += 1

    def note_read(self, after_wait: bool | None) -> None:
        """Whether the last delta was read after a wait for data (None: not known)."""
        if after_wait is not False and self.last_token is not None:
            self.seen = (self.deltas, self.last_token)

    @property
    def ttft_ms(self) -> float | None:
        """Milliseconds from sending the request to the first delta."""
        return None if self.first_token is None else (self.first_token - self.started) * 1000

    @property
    def tokens_per_second(self) -> float | None:
        """Decode speed from the first delta to the last seen as it arrived (the first
        token's time is TTFT's): deltas read after a rest arrived at some time during it.

        None when that window is too short, or its deltas too bunched, to mean anything.
        """
        tokens = self.usage.completion_tokens if self.usage else self.deltas
        if self.first_token is None or self.last_token is None or tokens < 2:
            return None
        end, at = self.deltas, self.last_token
        if self.seen is not None and self.seen[1] - self.first_token >= RATE_MIN_WINDOW:
            end, at = self.seen  # else a reader behind the server: its times are all late
        window = at - self.first_token
        if window < RATE_MIN_WINDOW or self.arrivals < RATE_MIN_ARRIVALS:
            return None
        return (tokens * end / self.deltas - 1) / window

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
                + ("" if (cached := self.usage.cached_tokens) is None else f", {cached} cached")
            )
        else:
            parts.append(f"~{tokens} tokens (the server sent no usage)")
        return " · ".join(parts)


@dataclass
class TurnResult:
    """How one answer went: what arrived, how it ended, what stopped it early if anything."""

    stats: TurnStats
    text: str = ""  # the answer without its reasoning; what arrived of it if it broke off
    finish_reason: str | None = None
    saw_words: bool = False  # reasoning came, or content that is not all blank
    shown_anything: bool = False  # the renderer showed some of it
    calls_shown: bool = False  # the renderer showed the tool calls as they came
    never_closed_think: bool = False  # the template opened <think>, the answer never closed it
    note: str | None = None  # how a finished answer ended, if worth a line (see ending_note)
    error: BaseException | None = None  # Ctrl-C, a failure or a bug that ended it early
    reasoning: str = ""  # the thinking, whether shown or not
    # The tokens' probabilities, when the server sent any (`Logprobs`); None: it sent none.
    logprobs: list[dict[str, Any]] | None = None
    # The tool calls the answer made, by index, as they were streamed (see add_tool_delta).
    calls: dict[int, dict[str, Any]] = field(default_factory=dict)

    def add_tool_delta(self, delta: ToolCallDelta) -> None:
        call = self.calls.setdefault(
            delta.index, {"id": None, "type": "function", "function": {"name": "", "arguments": ""}}
        )
        if delta.id and not call["id"]:
            call["id"] = delta.id
        if delta.name:
            call["function"]["name"] += delta.name
        call["function"]["arguments"] += delta.arguments

    @property
    def tool_calls(self) -> list[dict[str, Any]]:
        """The calls in index order; one without an id gets `call_N` (some servers send none)."""
        calls = []
        for index in sorted(self.calls):
            call = self.calls[index]
            calls.append({**call, "id": call["id"] or f"call_{index}"})
        return calls


@dataclass
class Turn:
    """Streams the answer to `body` to a renderer; `run()` returns how it went."""

    client: Client
    body: dict[str, Any]
    make_renderer: Callable[[], Renderer]
    think: str = "show"  # "show", "hide" or "collapse"
    template_opens_think: bool | Callable[[], bool] = False  # see AnswerStream
    spinner: AbstractContextManager[object] | None = None  # stopped by the first output
    report: Callable[..., None] = status_line
    env: Environment | None = None  # whose stdin is kept quiet while the answer streams
    # The model's context length, asked only for an answer cut by a limit.
    context_window: Callable[[], int | None] = lambda: None

    def run(self) -> TurnResult:
        """Stream the answer; never raises: whatever ended it early is in `error`."""
        stats = TurnStats(started=time.perf_counter())
        result = TurnResult(stats)
        answer = AnswerStream(
            self.make_renderer,
            think=self.think,
            template_opens_think=self.template_opens_think,
            spinner=self.spinner,
        )
        try:
            self._stream(answer, result)
        except BaseException as exc:  # Ctrl-C, a failure, or a bug: the turn ends cleanly
            stats.ended = time.perf_counter()
            result.error = exc
            interrupted = isinstance(exc, KeyboardInterrupt)
            # The spinner and the live region must stop, even if the renderer failed.
            with contextlib.suppress(Exception):
                note = "interrupted" if interrupted else "incomplete"
                answer.finish(note if answer.shown_anything else None)
            if interrupted and not answer.shown_anything:
                self.report("[interrupted before the answer began]", kind="warn")
        else:
            stats.ended = time.perf_counter()
            try:
                answer.finish()
            except BaseException as exc:  # the reader went away, or a renderer bug
                result.error = exc
        result.text = answer.answer_text
        result.shown_anything = answer.shown_anything
        result.reasoning = answer.reasoning_text
        result.calls_shown = answer.calls_shown
        result.never_closed_think = answer.never_closed_think
        if result.error is None:
            result.note = ending_note(result, self.body, self.context_window)
        return result

    def _stream(self, answer: AnswerStream, result: TurnResult) -> None:
        stats = result.stats
        warned_bad_event = False
        events = self.client.stream_chat(self.body)
        with quiet_input(self.env), _closing(events):
            for event in events:
                if isinstance(event, (ContentDelta, ReasoningDelta)):
                    stats.note_delta(time.perf_counter())
                    if isinstance(event, ContentDelta):
                        result.saw_words = result.saw_words or bool(event.text.strip())
                        answer.content(event.text)
                    else:
                        result.saw_words = True
                        answer.reasoning(event.text)
                    stats.note_read(answer.read_after_wait())
                elif isinstance(event, ToolCallDelta):
                    stats.note_delta(time.perf_counter())
                    result.saw_words = True
                    result.add_tool_delta(event)
                    answer.tool_calls([result.calls[index] for index in sorted(result.calls)])
                    stats.note_read(answer.read_after_wait())
                elif isinstance(event, Logprobs):
                    result.logprobs = result.logprobs if result.logprobs is not None else []
                    result.logprobs.extend(event.tokens)
                    answer.logprobs(event.tokens)
                elif isinstance(event, Usage):
                    stats.usage = event
                elif isinstance(event, BadEvent) and not warned_bad_event:
                    warned_bad_event = True
                    self.report("skipped an event that was not valid JSON", kind="warn")
                elif isinstance(event, Finish):
                    result.finish_reason = event.reason


@contextlib.contextmanager
def _closing(events: Iterator[object]) -> Iterator[None]:
    """Close the event stream (and so the connection: vLLM aborts the request) at the end."""
    try:
        yield
    finally:
        close = getattr(events, "close", None)
        if close is not None:
            close()


def ending_note(
    result: TurnResult, body: dict[str, Any], context_window: Callable[[], int | None]
) -> str | None:
    """What to say about how an answer ended: cut by a limit (which one), or empty."""
    reason = result.finish_reason
    limit = _limit_hit(result, body, context_window) if reason == "length" else None
    if result.text and not result.text.isspace():  # as `.strip()`, without its copy
        return f"the answer stopped at {limit}" if limit else None
    # Words came, yet no answer is left: they were all thinking.
    empty = "no answer after the reasoning" if result.saw_words else "empty answer"
    if limit:
        return f"({empty}: it stopped at {limit})"
    if reason not in (None, "stop"):
        return f"({empty}; finish reason: {reason})"
    return f"({empty})"


def _limit_hit(
    result: TurnResult, body: dict[str, Any], context_window: Callable[[], int | None]
) -> str:
    """Which token limit a `length` finish hit: the one sent, else the context window."""
    for key in ("max_completion_tokens", "max_tokens"):
        if isinstance(body.get(key), int):
            return f"the token limit ({key} {body[key]})"
    window = context_window()
    if window is None:
        return "the end of the model's context window (no max_tokens was sent)"
    usage = result.stats.usage
    if usage is not None and usage.total_tokens < window:
        return (
            f"a limit the server set (no max_tokens was sent; the {window:,}-token "
            "context window was not full)"
        )
    return f"the end of the model's context window ({window:,} tokens, prompt and answer)"

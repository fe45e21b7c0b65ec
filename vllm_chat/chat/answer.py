"""One answer on its way to the screen: thinking split off, shown as the user chose."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

from vllm_chat.chat.think import GrowingText, ThinkSplitter
from vllm_chat.render.plain import Renderer


class AnswerStream:
    """Routes an answer's deltas to a renderer created at the first visible one.

    Reasoning comes from the server's reasoning field or from `<think>` tags
    in the content. `think` is "show" (as it streams), "hide" (never), or
    "collapse" (while it streams, then folded into a one-line summary).
    `template_opens_think`: the server said its chat template opens `<think>`,
    so the content starts as reasoning (unless the server's own reasoning field
    comes first); it may be a question still out to the server (a callable), asked
    only at the first text. The spinner, if any, runs until something is shown.
    """

    def __init__(
        self,
        make_renderer: Callable[[], Renderer],
        *,
        think: str = "show",
        template_opens_think: bool | Callable[[], bool] = False,
        spinner: AbstractContextManager[object] | None = None,
    ) -> None:
        self._make_renderer = make_renderer
        self._think = think
        self._opens_think = template_opens_think
        self._splitter: ThinkSplitter | None = None  # made at the first text (see _split)
        self._starts_in_reasoning = False
        self._content_fed = False
        self._answer_override: str | None = None
        self._spinner = spinner
        self._renderer: Renderer | None = None
        self._answer_started = False
        self._reasoning_started: float | None = None
        self._reasoning_open = False
        self._reasoning_deltas = 0
        self._reasoning_parts = GrowingText()
        # Token probabilities not yet handed on, chunk by chunk.
        self._tokens: list[Sequence[Mapping[str, Any]]] = []
        self.calls_shown = False  # the renderer showed the tool calls (a pipe does not)

    @property
    def shown_anything(self) -> bool:
        return self._renderer is not None

    @property
    def answer_text(self) -> str:
        """The answer to keep in the conversation: no thinking, no tags."""
        if self._answer_override is not None:
            return self._answer_override
        return "" if self._splitter is None else self._splitter.answer_text

    @property
    def reasoning_text(self) -> str:
        """The thinking, from the reasoning field or `<think>` (shown or not)."""
        return "" if self._answer_override is not None else str(self._reasoning_parts)

    @property
    def never_closed_think(self) -> bool:
        """Started as thinking (the template opens it) but no `</think>` ever came."""
        splitter = self._splitter
        return self._starts_in_reasoning and splitter is not None and not splitter.answer_text

    def reasoning(self, text: str) -> None:
        """A delta of the server's own reasoning field."""
        if self._splitter is None or (self._starts_in_reasoning and not self._content_fed):
            # The server's reasoning parser took the think block out of the content,
            # so the content will be the answer alone, whatever the template opens.
            self._starts_in_reasoning = False
            self._splitter = ThinkSplitter()
        self._show_reasoning(text)

    def content(self, text: str) -> None:
        self._content_fed = True
        for kind, piece in self._split().feed(text):
            self._route(kind, piece)

    def read_after_wait(self) -> bool | None:
        """Whether the renderer's reader waited for the last delta it was fed (so it was
        read as it arrived); None when the renderer does not pace its reader."""
        waited = getattr(self._renderer, "read_after_wait", None)
        return waited if isinstance(waited, bool) else None

    def logprobs(self, tokens: Sequence[Mapping[str, Any]]) -> None:
        """The probabilities of the tokens whose text comes next, for a renderer that
        shows them (`feed_logprobs`); held until it exists."""
        self._tokens.append(tokens)
        if self._renderer is not None:
            self._hand_tokens(self._renderer)

    def _hand_tokens(self, renderer: Renderer) -> None:
        feed = getattr(renderer, "feed_logprobs", None)
        if feed is not None:
            for tokens in self._tokens:
                feed(tokens)
        self._tokens = []

    def tool_calls(self, calls: Sequence[Mapping[str, Any]]) -> None:
        """The answer's tool calls so far (all of them, in index order), after one grew."""
        self._end_reasoning()
        self.calls_shown = self._visible().feed_calls(calls)

    def _split(self) -> ThinkSplitter:
        """The splitter, made at the first text: only then is the template's opening needed
        (waiting, if need be, for the server's answer)."""
        if self._splitter is None:
            opens = self._opens_think() if callable(self._opens_think) else self._opens_think
            self._starts_in_reasoning = opens
            self._splitter = ThinkSplitter(starts_in_reasoning=opens)
        return self._splitter

    def finish(self, note: str | None = None) -> None:
        if self._splitter is None:  # no text came: nothing to split, nobody to wait for
            self._splitter = ThinkSplitter()
        for kind, piece in self._splitter.finish():
            self._route(kind, piece)
        if self.never_closed_think and note is None:
            # Taken for a model whose template opens <think>, it answered without
            # one: what came as thinking was the answer; show it as one if hidden.
            self._answer_override = self._splitter.reasoning_text
            if self._think != "show":
                self._route("content", self._answer_override)
        self._end_reasoning()
        self._stop_spinner()
        renderer = self._renderer or self._make_renderer()
        renderer.finish(note)

    def _route(self, kind: str, piece: str) -> None:
        if kind == "reasoning":
            self._show_reasoning(piece)
            return
        self._end_reasoning()
        if piece:
            self._answer_started = True
            self._visible().feed(piece)

    def _show_reasoning(self, text: str) -> None:
        if self._reasoning_started is None:
            self._reasoning_started = time.perf_counter()
        self._reasoning_deltas += 1
        self._reasoning_parts.append(text)
        if self._think == "hide" or self._answer_started:
            return
        self._reasoning_open = True
        self._visible().feed_reasoning(text)

    def _end_reasoning(self) -> None:
        if not self._reasoning_open:
            return
        self._reasoning_open = False
        summary = None
        if self._think == "collapse" and self._reasoning_started is not None:
            seconds = time.perf_counter() - self._reasoning_started
            summary = f"thought for {seconds:.1f} s, {self._reasoning_deltas} tokens"
        self._visible().end_reasoning(summary)

    def _visible(self) -> Renderer:
        if self._renderer is None:
            self._stop_spinner()
            self._renderer = self._make_renderer()
            self._hand_tokens(self._renderer)
        return self._renderer

    def _stop_spinner(self) -> None:
        if self._spinner is not None:
            self._spinner.__exit__(None, None, None)
            self._spinner = None

"""`-q --json`: the answer as one JSON object on stdout, a failure as one on stderr.

Nothing streams: the renderer is silent, and warnings travel in the object.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from vllm_chat.chat.session import Chat
from vllm_chat.render.environment import Environment


class Silent:
    """A renderer that shows nothing: the answer goes out whole, as JSON, at the end."""

    def feed_reasoning(self, text: str) -> None:
        pass

    def end_reasoning(self, summary: str | None = None) -> None:
        pass

    def feed(self, text: str) -> None:
        pass

    def feed_calls(self, calls: Sequence[Mapping[str, Any]]) -> bool:
        return True  # they are in the object

    def finish(self, note: str | None = None) -> None:
        pass


class JsonScript:
    """What a `-q --json` run writes; `report` stands in for the chat's status lines."""

    def __init__(self, env: Environment) -> None:
        self.env = env
        self.warnings: list[str] = []

    def take_over(self, chat: Chat) -> None:
        """The chat shows nothing while it streams and reports to this object."""
        chat.make_renderer = Silent
        chat.make_spinner = lambda: None
        chat.report = self.report

    def report(self, text: str, *, kind: str = "info", **_: Any) -> None:
        """An error is the JSON object on stderr; a warning goes in the answer's object;
        notices (--stats) say nothing the object does not."""
        if kind == "error":
            self._error({"message": text, "type": "error", "status": None})
        elif kind == "warn":
            self.warnings.append(text)

    def answer(self, chat: Chat) -> None:
        self.write(answer_object(chat, self.warnings))

    def failure(self, exc: BaseException, chat: Chat) -> None:
        """The error object; what arrived of a broken answer goes with it, as `partial`."""
        interrupted = isinstance(exc, KeyboardInterrupt)
        error = {
            "message": "interrupted" if interrupted else str(exc),
            "type": "interrupted" if interrupted else type(exc).__name__,
            "status": getattr(exc, "status", None),
        }
        result = chat.last_result
        partial = result is not None and (result.text or result.calls) and result.error
        self._error(error, answer_object(chat, self.warnings) if partial else None)

    def write(self, document: dict[str, Any]) -> None:
        self.env.stdout.write(json.dumps(document, ensure_ascii=False) + "\n")
        self.env.stdout.flush()

    def _error(self, error: dict[str, Any], partial: dict[str, Any] | None = None) -> None:
        document: dict[str, Any] = {"error": error}
        if partial is not None:
            document["partial"] = partial
        elif self.warnings:
            document["warnings"] = self.warnings
        self.env.stderr.write(json.dumps(document, ensure_ascii=False) + "\n")
        self.env.stderr.flush()


def answer_object(chat: Chat, warnings: list[str]) -> dict[str, Any]:
    """`model`, `content`, `reasoning` (if any), `finish_reason`, `usage` as the server
    sent it, `ttft_ms`, `tokens_per_second`; `logprobs` when asked for, `tool_calls` when
    made, `warnings` when there were any."""
    result = chat.last_result
    assert result is not None, "answer_object after a turn"
    stats = result.stats
    document: dict[str, Any] = {"model": chat.model, "content": result.text}
    if result.reasoning:
        document["reasoning"] = result.reasoning
    document["finish_reason"] = result.finish_reason
    document["usage"] = stats.usage.raw if stats.usage is not None else None
    document["ttft_ms"] = None if stats.ttft_ms is None else round(stats.ttft_ms, 1)
    rate = stats.tokens_per_second
    document["tokens_per_second"] = None if rate is None else round(rate, 1)
    if chat.logprobs is not None:
        document["logprobs"] = result.logprobs
    if result.calls:
        document["tool_calls"] = result.tool_calls
    if warnings:
        document["warnings"] = warnings
    return document

"""Token probabilities in a chat: what to say when the server ignores or refuses them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from vllm_chat.chat.turn import TurnResult
from vllm_chat.client.errors import ApiError, HTTPStatusError, StreamError
from vllm_chat.client.hints import hint

if TYPE_CHECKING:
    from vllm_chat.chat.session import Chat


def say_if_ignored(chat: Chat, result: TurnResult) -> None:
    """One line, once per chat, when an answer came without the probabilities asked for."""
    if chat.logprobs is None or chat.said_no_logprobs:
        return
    note = ignored_note(result, chat.mode)
    if note:
        chat.said_no_logprobs = True
        chat.report(note, kind="warn")


def ignored_note(result: TurnResult, mode: str) -> str | None:
    """The line for an answer that came without any `logprobs` though they were asked for."""
    if result.logprobs is not None or not (result.text or result.calls):
        return None
    return (
        "the server sent no token probabilities (it ignores logprobs); "
        f"{hint('no_logprobs', mode=mode)}"
    )


def refusal(error: BaseException, mode: str) -> ApiError | None:
    """A refusal of the logprobs asked for, with what to do; None for any other error.

    vLLM refuses more than its --max-logprobs (20) inside the stream, after a 200;
    other servers may answer 400.
    """
    if not isinstance(error, (HTTPStatusError, StreamError)) or "logprobs" not in str(error):
        return None
    text = f"{error} ({hint('logprobs', mode=mode)})"
    if isinstance(error, HTTPStatusError):
        return HTTPStatusError(error.status, error.server_message, text)
    return StreamError(text)

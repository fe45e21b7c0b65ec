"""Token probabilities: /logprobs (ask for them, and see them in the token view) and /alt."""

from __future__ import annotations

from vllm_chat.chat.conversation import Message
from vllm_chat.chat.session import Chat
from vllm_chat.config.defaults import DEFAULT_TOP_LOGPROBS
from vllm_chat.render.tokens import alternatives_table, least_certain, positions_of
from vllm_chat.repl.commands.registry import Context, UsageError, command, counted

DEFAULT_ALT_ROWS = 10


def _on_off(chat: Chat) -> list[str]:
    return ["on", "off"]


@command(
    "logprobs",
    "ask for each token's probability and N alternatives (default 5): the answer is shown "
    "token by token, coloured by probability, instead of as Markdown; /alt lists them",
    usage="/logprobs [on|off|N]",
    arguments=_on_off,
)
def logprobs_command(ctx: Context, arg: str) -> None:
    chat = ctx.chat
    word = arg.strip().lower()
    if word == "on":
        chat.logprobs = chat.logprobs if chat.logprobs is not None else DEFAULT_TOP_LOGPROBS
    elif word == "off":
        chat.logprobs = None
    elif word.isdigit():
        chat.logprobs = int(word)
    elif word:
        raise UsageError("usage: /logprobs [on|off|N] (N: alternatives per token, from 0)")
    chat.said_no_logprobs = False  # a server that ignores them is told again
    if chat.logprobs is None:
        ctx.say("token probabilities: off (/logprobs on asks for them)")
        return
    view = (
        "answers are shown token by token, coloured by probability (not as Markdown)"
        if chat.env.markdown
        else "answers stay plain text (no terminal to colour)"
    )
    ctx.say(
        f"token probabilities: on, {counted(chat.logprobs, 'alternative')} per token; "
        f"{view}; /alt lists the least certain"
    )


@command(
    "alt",
    "after an answer with token probabilities: its N least certain tokens (default 10) "
    "with their alternatives, or the tokens where TEXT occurs",
    usage="/alt [N|TEXT]",
)
def alt_command(ctx: Context, arg: str) -> None:
    answer = _last_answer(ctx.chat)
    tokens = answer.logprobs if answer is not None else None
    if not tokens:
        hint = "" if ctx.chat.logprobs is not None else "; /logprobs on asks for them"
        ctx.say(f"the last answer has no token probabilities{hint}")
        return
    if not arg or arg.isdigit():
        count = int(arg) if arg else DEFAULT_ALT_ROWS
        positions = least_certain(tokens, count)
        ctx.say(f"the {counted(len(positions), 'least certain token')} of {len(tokens):,}:")
        ctx.say(alternatives_table(tokens, positions))
        return
    positions = positions_of(tokens, arg)
    if not positions:
        ctx.say(f"{arg!r} is not in the last answer's tokens")
        return
    ctx.say(f"{arg!r} is in {counted(len(positions), 'token')} of {len(tokens):,}:")
    ctx.say(alternatives_table(tokens, positions))


def _last_answer(chat: Chat) -> Message | None:
    return next((m for m in reversed(chat.conversation.messages) if m.role == "assistant"), None)

"""The conversation: /system, /reset, /retry, /undo, /edit, /history."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from vllm_chat.chat.attachments import text_of, with_text
from vllm_chat.render.calls import describe_call
from vllm_chat.repl.commands.registry import Context, UsageError, command, counted
from vllm_chat.repl.editor import edit


@command("system", "show, set or clear the system prompt", usage="/system [TEXT|clear]")
def system_command(ctx: Context, arg: str) -> None:
    """Show the system prompt, set it to `arg`, or clear it."""
    conversation = ctx.chat.conversation
    if not arg:
        prompt = conversation.system_prompt
        ctx.say(f"system prompt: {prompt}" if prompt else "no system prompt is set")
    elif arg.lower() == "clear":
        conversation.system_prompt = None
        ctx.say("system prompt cleared")
    else:
        conversation.system_prompt = arg
        ctx.say("system prompt set")


@command(
    "reset",
    "forget the conversation and any attachments (the system prompt stays)",
    aliases=("clear",),
)
def reset_command(ctx: Context, arg: str) -> None:
    """Forget every turn and pending attachment."""
    turns = ctx.chat.conversation.turns
    if ctx.journal is not None:
        ctx.journal.start_new()  # the stored chat stays whole; the next turn starts another
    dropped = ctx.chat.reset()
    detached = f", {counted(dropped, 'attachment')} dropped" if dropped else ""
    ctx.say(f"conversation cleared ({counted(turns, 'turn')} forgotten{detached})")


@command("retry", "send the last message again, replacing its answer")
def retry_command(ctx: Context, arg: str) -> None:
    """Send the last message again with the current settings."""
    _send_again(ctx, ctx.chat.retry)


@command("undo", "forget the last message and its answer")
def undo_command(ctx: Context, arg: str) -> None:
    """Drop the last exchange."""
    removed = ctx.chat.undo()
    ctx.say("removed the last exchange" if removed else "nothing to undo")


@command("edit", "edit the last message in $EDITOR and send it again")
def edit_command(ctx: Context, arg: str) -> None:
    """Open the editor on the last message; send what comes back in its place."""
    content = ctx.chat.last_user_content()
    if content is None:
        raise UsageError("there is no message to edit yet")
    edited = edit(text_of(content)).strip()
    if not edited:
        ctx.say("the edited message is empty; nothing sent")
        return
    _send_again(ctx, lambda: ctx.chat.resend(lambda old: with_text(old, edited)))


def _send_again(ctx: Context, send: Callable[[], object]) -> None:
    with contextlib.suppress(KeyboardInterrupt):  # the answer was marked [interrupted]
        send()


@command("history", "show the conversation so far (or its last N turns)", usage="/history [N]")
def history_command(ctx: Context, arg: str) -> None:
    """Show every turn (the last `arg` ones), answers rendered as answers are."""
    if arg and (not arg.isdigit() or int(arg) < 1):
        raise UsageError("usage: /history [N], N a number of turns from 1")
    conversation = ctx.chat.conversation
    first = conversation.turns - int(arg) + 1 if arg else 1
    if conversation.system_prompt and first <= 1:
        ctx.say(f"── system ──\n{conversation.system_prompt}")
    if not conversation.messages:
        ctx.say("the conversation is empty")
    turn = 0
    for message in conversation.messages:
        if message.role == "user":
            turn += 1
        if turn < first:
            continue
        if message.role == "user":
            ctx.say(f"── {turn} · you ──\n{text_of(message.content)}")
            continue
        if message.role == "tool":
            ctx.say(f"── {turn} · result for {message.tool_call_id} ──\n{text_of(message.content)}")
            continue
        partial = " (partial)" if message.partial else ""
        ctx.say(f"── {turn} · {ctx.chat.model or 'assistant'}{partial} ──")
        if message.content:
            (ctx.show_markdown or ctx.say)(message.content)
        for call in message.tool_calls or []:
            ctx.say(describe_call(call)[0])

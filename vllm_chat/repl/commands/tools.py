"""Tool calling: /tools and /result. vllm-chat never runs a tool itself."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from vllm_chat.chat.session import Chat
from vllm_chat.chat.tools import ToolsError, load_tools
from vllm_chat.render.calls import call_name
from vllm_chat.repl.commands.registry import Context, UsageError, command, counted


@command(
    "tools",
    "list the tools sent with each request, load them from a JSON file, or stop sending them",
    usage="/tools [FILE|off]",
    takes_path=True,
)
def tools_command(ctx: Context, arg: str) -> None:
    chat = ctx.chat
    if arg == "off":
        chat.tools = None
        ctx.say("no tools are sent any more")
        return
    if arg:
        try:
            chat.tools = load_tools(Path(arg))
        except ToolsError as exc:
            raise UsageError(str(exc)) from exc
        ctx.say(f"{counted(len(chat.tools), 'tool')} sent with each request from now on")
    if not chat.tools:
        ctx.say("no tools are sent (/tools FILE loads a JSON list of definitions)")
        return
    for tool in chat.tools:
        function = tool["function"]
        summary = " ".join(str(function.get("description") or "").split())
        ctx.say(f"  {function['name']}" + (f": {summary}" if summary else ""))


def _pending_ids(chat: Chat) -> list[str]:
    return [str(call["id"]) for call in chat.conversation.pending_tool_calls()]


@command(
    "result",
    "give a tool call its result (TEXT, or @FILE for a file's content)",
    usage="/result ID TEXT|@FILE",
    arguments=_pending_ids,
)
def result_command(ctx: Context, arg: str) -> None:
    call_id, _, text = arg.partition(" ")
    pending = ctx.chat.conversation.pending_tool_calls()
    if not call_id or not text.strip():
        raise UsageError("usage: /result ID TEXT|@FILE")
    call = next((c for c in pending if c["id"] == call_id), None)
    if call is None:
        names = ", ".join(f"{call_name(c)}#{c['id']}" for c in pending) or "none"
        raise UsageError(f"no tool call {call_id} waits for a result (waiting: {names})")
    if text.startswith("@"):
        path = Path(text[1:]).expanduser()
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or exc
            raise UsageError(f"cannot read {path}: {reason}") from exc
        if path.suffix == ".json":
            try:
                json.loads(text)
            except ValueError as exc:
                raise UsageError(f"{path} is not JSON: {exc}") from exc
    waiting = ctx.chat.give_tool_result(text, call_id)
    if waiting:
        ctx.say(f"result kept; {counted(waiting, 'call')} still wait")
        return
    with contextlib.suppress(KeyboardInterrupt):  # the answer was marked [interrupted]
        ctx.chat.answer_tools()

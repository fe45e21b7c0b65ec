"""A chat as Markdown, for people: a heading per turn, the answers as they came."""

from __future__ import annotations

import datetime
from typing import Any

from vllm_chat.chat.conversation import Conversation


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    parts = []
    for part in content:
        if not isinstance(part, dict):
            continue
        if part.get("type") == "text":
            parts.append(str(part.get("text", "")))
        elif part.get("type") == "image_url":
            url = str((part.get("image_url") or {}).get("url", ""))
            parts.append("*(an image)*" if url.startswith("data:") else f"*(an image: {url})*")
    return "\n\n".join(parts)


def markdown(
    conversation: Conversation,
    *,
    title: str,
    model: str | None,
    url: str,
    chat_id: str | None = None,
) -> str:
    """The chat as a Markdown document. Answers are kept exactly (code included)."""
    when = datetime.datetime.now().astimezone().isoformat(timespec="minutes")
    about = [f"model {model or '?'}", url, *([f"chat {chat_id}"] if chat_id else []), when]
    lines = [f"# {title}", "", f"*{' · '.join(about)}*", ""]
    if conversation.system_prompt:
        lines += ["## System", "", conversation.system_prompt, ""]
    turn = 0
    for message in conversation.messages:
        if message.role == "user":
            turn += 1
            lines += [f"## {turn} · You", "", _text(message.content), ""]
        elif message.role == "tool":
            lines += [f"## {turn} · Result for {message.tool_call_id}", "", "```",
                      _text(message.content), "```", ""]  # fmt: skip
        else:
            cut = " (interrupted)" if message.partial else ""
            lines += [f"## {turn} · {model or 'assistant'}{cut}", "", _text(message.content), ""]
            for call in message.tool_calls or []:
                function = call.get("function") or {}
                lines += [f"Tool call `{function.get('name')}` (`{call.get('id')}`):", "",
                          "```json", str(function.get("arguments") or ""), "```", ""]  # fmt: skip
    return "\n".join(lines).rstrip("\n") + "\n"

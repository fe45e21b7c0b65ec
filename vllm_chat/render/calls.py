"""Tool calls as the screen shows them: `name#id`, then the arguments, pretty or raw.

A call is the dict the stream assembles (`{"id", "type", "function": {"name",
"arguments"}}`); its arguments are a string that grows delta by delta. Once the
call is complete they are pretty-printed when they are JSON, else shown exactly as
received and flagged: that is what a broken tool-call parser looks like.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from vllm_chat.render.text import sanitize

NOT_JSON = "those arguments are not valid JSON: shown as received"


def call_name(call: Mapping[str, Any]) -> str:
    function = call.get("function") or {}
    return str(function.get("name") or "?")


def call_arguments(call: Mapping[str, Any]) -> str:
    """The arguments string as received so far."""
    return str((call.get("function") or {}).get("arguments") or "")


def call_head(call: Mapping[str, Any]) -> str:
    """`tool call get_weather#call_1` (no `#` while the id is not known yet)."""
    call_id = call.get("id")
    return sanitize(f"tool call {call_name(call)}" + (f"#{call_id}" if call_id else ""))


def final_arguments(call: Mapping[str, Any]) -> tuple[str, bool]:
    """The complete call's arguments for the screen, and whether they are valid JSON."""
    arguments = call_arguments(call)
    try:
        parsed = json.loads(arguments)
    except ValueError:
        return sanitize(arguments), False
    return json.dumps(parsed, indent=2, ensure_ascii=False), True


def describe_call(call: Mapping[str, Any]) -> tuple[str, bool]:
    """`tool call get_weather#call_1 {...}`, arguments pretty-printed; False when they
    are not valid JSON (then shown exactly as received)."""
    arguments, valid = final_arguments(call)
    return f"{call_head(call)} {arguments}", valid


def arguments_tail(call: Mapping[str, Any], rows: int, width: int) -> str:
    """The end of a growing call's arguments, at most `rows` lines of `width`: what a
    live view redraws costs the same however long the arguments grow."""
    arguments = call_arguments(call)
    start = len(arguments)
    for _ in range(rows):
        start = arguments.rfind("\n", 0, start)
        if start == -1:
            break
    start = max(start + 1, len(arguments) - rows * max(1, width))
    return sanitize(arguments[start:])

"""Tool calling: the definitions sent (`--tools`, `/tools`) and the calls shown.

vllm-chat never runs a tool: it shows what the model asked for, exactly, and sends the
results the user gives back as `tool` messages.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vllm_chat.render.calls import call_arguments, call_name


class ToolsError(Exception):
    """A tools file that cannot be used; the message says why, in one line."""


def load_tools(path: Path) -> list[dict[str, Any]]:
    """The tool definitions in `path` (a JSON list, OpenAI's format), checked."""
    try:
        raw = path.expanduser().read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ToolsError(f"cannot read the tools file {path}: {reason}") from exc
    try:
        tools = json.loads(raw)
    except ValueError as exc:
        raise ToolsError(f"{path} is not JSON: {exc}") from exc
    if not isinstance(tools, list) or not tools:
        raise ToolsError(f"{path}: expected a non-empty JSON list of tool definitions")
    names = set()
    for number, tool in enumerate(tools, 1):
        problem = _tool_problem(tool)
        if problem:
            raise ToolsError(f"{path}: tool {number} {problem}; nothing loaded")
        name = tool["function"]["name"]
        if name in names:
            raise ToolsError(f"{path}: tool {number} repeats the name {name!r}; nothing loaded")
        names.add(name)
    return tools


def _tool_problem(tool: Any) -> str | None:
    if not isinstance(tool, dict) or tool.get("type") != "function":
        return 'is not {"type": "function", "function": {...}}'
    function = tool.get("function")
    if not isinstance(function, dict):
        return 'has no "function" object'
    name = function.get("name")
    if not isinstance(name, str) or not name.strip():
        return "has no name"
    parameters = function.get("parameters")
    if parameters is not None and (
        not isinstance(parameters, dict) or parameters.get("type", "object") != "object"
    ):
        return f"({name}) has parameters that are not a JSON Schema object"
    return None


def call_line(call: dict[str, Any]) -> str:
    """One call as a JSON line for scripts: id, name, arguments (the string as received)."""
    arguments = call_arguments(call)
    return json.dumps({"id": call.get("id"), "name": call_name(call), "arguments": arguments},
                      ensure_ascii=False)  # fmt: skip

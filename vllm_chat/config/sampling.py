"""One check for every sampling value, wherever it comes from.

Flags, `--extra-body`, the config file, `/set` and a loaded chat all ask
`problem()` before a value is kept, so a value vLLM would refuse (or that
cannot even be written as JSON) is refused here, in one line naming the key,
the value and the range, instead of failing every message later. The ranges
are those of vLLM's `SamplingParams._verify_args` (vllm/sampling_params.py)
and, for `seed`, its OpenAI protocol (a signed 64-bit integer). Keys this
module does not know are passed on as they are: vLLM has many extras.

Light enough for the flag parser: the standard library only.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

from vllm_chat.config.defaults import NOT_REQUEST_KEYS

INT64 = 2**63


def _number(value: Any) -> bool:
    """A finite int or float; a boolean is not a number, whatever Python says."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _stop(value: Any) -> bool:
    # vLLM: "stop cannot contain an empty string".
    if isinstance(value, str):
        return bool(value)
    return isinstance(value, list) and all(isinstance(item, str) and item for item in value)


# key -> (what it must be, in words; the check; "number", "whole" or "text" for a flag's text)
RULES: dict[str, tuple[str, Callable[[Any], bool], str]] = {
    "temperature": ("a number from 0 to 2", lambda v: _number(v) and 0 <= v <= 2, "number"),
    "top_p": ("a number above 0 and at most 1", lambda v: _number(v) and 0 < v <= 1, "number"),
    "top_k": (
        "a whole number, at least 1 (0 or -1 turns it off)",
        lambda v: _whole(v) and v >= -1,
        "whole",
    ),
    "min_p": ("a number from 0 to 1", lambda v: _number(v) and 0 <= v <= 1, "number"),
    "max_tokens": ("a whole number of at least 1", lambda v: _whole(v) and v >= 1, "whole"),
    "min_tokens": ("a whole number of at least 0", lambda v: _whole(v) and v >= 0, "whole"),
    "n": ("a whole number of at least 1", lambda v: _whole(v) and v >= 1, "whole"),
    "presence_penalty": (
        "a number from -2 to 2",
        lambda v: _number(v) and -2 <= v <= 2,
        "number",
    ),
    "frequency_penalty": (
        "a number from -2 to 2",
        lambda v: _number(v) and -2 <= v <= 2,
        "number",
    ),
    "repetition_penalty": ("a number above 0", lambda v: _number(v) and v > 0, "number"),
    "seed": (
        "a whole number (64-bit)",
        lambda v: _whole(v) and -INT64 <= v < INT64,
        "whole",
    ),
    "stop": ("a non-empty string or a list of them", _stop, "text"),
}


def shown(value: Any, limit: int = 40) -> str:
    """`value` as JSON writes it (NaN, true, "text"), cut to `limit` characters."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = type(value).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def json_problem(value: Any) -> str | None:
    """Why `value` cannot go into a JSON request body, or None when it can."""
    if isinstance(value, float) and not math.isfinite(value):
        return f"{shown(value)} is not a JSON number"
    if isinstance(value, (str, int, float, bool)) or value is None:
        return None
    if isinstance(value, list):
        return next(filter(None, map(json_problem, value)), None)
    if isinstance(value, dict):
        return next(filter(None, map(json_problem, value.values())), None)
    return f"{type(value).__name__} has no JSON form"


def problem(name: str, value: Any) -> str | None:
    """Why `value` cannot be sent as `name`, in one line; None when it can."""
    rule = RULES.get(name)
    if rule is not None and not rule[1](value):
        return f"{name} must be {rule[0]}, got {shown(value)}"
    why = json_problem(value)
    return f"{name} must be a JSON value ({why})" if why else None


def flag_value(name: str, text: str) -> int | float | str:
    """A flag's text as the value `name` takes; ValueError (its message: why) if it cannot be."""
    what, valid, kind = RULES[name]
    convert: Callable[[str], int | float | str] = {"whole": int, "number": float}.get(kind, str)
    try:
        value = convert(text)
    except ValueError:
        raise ValueError(f"must be {what}, got {text}") from None
    if not valid(value):
        raise ValueError(f"must be {what}, got {text}")
    return value


# Where each secret or transport setting is set instead, by where it was misplaced.
_POINTERS = {
    "key": {
        "chat": "/key changes the key (it is read hidden)",
        "flag": "--api-key sets the key",
        "config": "put api_key at the top of the file, above [sampling]",
    },
    "url": {
        "chat": "/connect URL switches the server",
        "flag": "--url sets the server",
        "config": "put url at the top of the file, above [sampling]",
    },
}


def misplaced(name: str, via: str) -> str | None:
    """Why `name` may not be a request parameter at all (a secret or the server's address).

    `via` is where it was tried: "chat" (/set), "flag" (--extra-body) or
    "config" (the [sampling] table); it picks the pointer to the right place.
    The check ignores case and `-` for `_`. None for any other name.
    """
    kind = NOT_REQUEST_KEYS.get(name.strip().lower().replace("-", "_"))
    if kind is None:
        return None
    if kind == "key":
        reason = "it would put the key in every request body, where server logs keep it"
    else:
        reason = "the server's address is not part of a request"
    return f"{name} is not a request parameter: {reason}; {_POINTERS[kind][via]}"


TOOL_CHOICES = ("auto", "none", "required")


def tool_choice(text: str) -> str | dict[str, Any]:
    """`--tool-choice`: auto, none, required, or a function's name."""
    if text in TOOL_CHOICES:
        return text
    return {"type": "function", "function": {"name": text}}

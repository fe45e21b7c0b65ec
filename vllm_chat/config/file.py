"""The config file: `$XDG_CONFIG_HOME/vllm-chat/config.toml`, checked key by key.

A file that cannot be used costs a warning, never the session: a bad key is
dropped with a warning naming it, a broken file is skipped whole. Only a file
named with `--config` must exist and parse (`ConfigError`). A sampling value
that vLLM would refuse (`temperature = 5`, `[sampling] min_p = nan`) or a
secret in `[sampling]` is a `ConfigError` in any file: sent, it would make
every message fail, or leak the key into request bodies.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vllm_chat.config import sampling
from vllm_chat.config.defaults import RESERVED_BODY_KEYS, THINK_MODES
from vllm_chat.config.settings import url_problem

Warn = Callable[[str], None]


class ConfigError(Exception):
    """A config file named with `--config` that cannot be used."""


@dataclass
class Config:
    """What a config file contributes: checked values, by key."""

    path: Path | None = None  # the file read; None when there was none
    values: dict[str, Any] = field(default_factory=dict)
    sampling: dict[str, Any] = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)


def _is_number(value: Any) -> bool:
    # TOML booleans are Python bools, which are ints too.
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


# key -> (what it must be, in words; the check). Checked values are converted by _convert.
KEYS: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "url": (
        "a string starting with http:// or https://, then a host",
        lambda v: isinstance(v, str) and url_problem(v) is None,
    ),
    "model_name": ("a non-empty string", _is_text),
    "api_key": ("a non-empty string", _is_text),
    "system_prompt": ("a string", lambda v: isinstance(v, str)),
    "stats": ("true or false", lambda v: isinstance(v, bool)),
    # Checked by sampling.problem: a bad value is a ConfigError, not a warning.
    "temperature": sampling.RULES["temperature"][:2],
    "top_p": sampling.RULES["top_p"][:2],
    "max_tokens": sampling.RULES["max_tokens"][:2],
    "timeout": ("a number of seconds above 0", lambda v: _is_number(v) and v > 0),
    "connect_timeout": ("a number of seconds above 0", lambda v: _is_number(v) and v > 0),
    "history_file": ("a non-empty string (a path)", _is_text),
    "no_history": ("true or false", lambda v: isinstance(v, bool)),
    "private": ("true or false", lambda v: isinstance(v, bool)),
    "vi": ("true or false", lambda v: isinstance(v, bool)),
    "code_theme": ("a non-empty string (a Pygments style name)", _is_text),
    "think": (
        "one of " + ", ".join(f'"{mode}"' for mode in THINK_MODES),
        lambda v: v in THINK_MODES,
    ),
    "sampling": ("a table", lambda v: isinstance(v, dict)),
}


def _convert(key: str, value: Any) -> Any:
    if key in ("temperature", "top_p", "timeout", "connect_timeout"):
        return float(value)
    if key == "history_file":
        return Path(value).expanduser()
    return value


def _toml_type(value: Any) -> str:
    """The TOML name of a value's type, for messages."""
    from datetime import date, datetime, time

    for kind, name in (
        (bool, "a boolean"),
        (int, "an integer"),
        (float, "a float"),
        (str, "a string"),
        (list, "an array"),
        (dict, "a table"),
        (datetime, "a date-time"),
        (date, "a date"),
        (time, "a time"),
    ):
        if isinstance(value, kind):
            return name
    return type(value).__name__


def _describe(value: Any, secret: bool = False) -> str:
    """`value` as a message shows it: its type, and the value when short and not secret."""
    kind = _toml_type(value)
    if secret or isinstance(value, (list, dict)):
        return kind
    shown = repr(value) if isinstance(value, str) else str(value).lower()
    return f"{kind} ({shown})" if len(shown) <= 40 else kind


def merge_body(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """`base` updated with `extra`; tables in both are merged key by key, not replaced."""
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_body(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read(path: Path) -> tuple[bytes, int]:
    """The file's bytes and its permission bits."""
    with open(path, "rb") as file:
        return file.read(), os.fstat(file.fileno()).st_mode


def load(path: Path, *, explicit: bool, warn: Warn) -> Config:
    """Read and check the config file at `path`.

    `explicit` is for a file named with `--config`: then a missing, unreadable
    or malformed file raises `ConfigError`. Otherwise a missing file is no
    config at all and any other problem is one `warn` and no config. In
    either, a sampling value vLLM would refuse raises `ConfigError`.
    """
    try:
        raw, mode = _read(path)
    except FileNotFoundError:
        if explicit:
            raise ConfigError(f"config file {path} does not exist") from None
        return Config()
    except IsADirectoryError:
        problem = f"config file {path} is a directory"
    except OSError as exc:
        problem = f"cannot read config file {path}: {exc.strerror or exc}"
    else:
        # Imported only now: most runs have no config file and need no TOML parser.
        if sys.version_info >= (3, 11):
            import tomllib
        else:  # pragma: no cover - Python 3.10 only
            import tomli as tomllib
        try:
            data = tomllib.loads(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            problem = f"config file {path} is not UTF-8 text (byte {exc.start + 1})"
        except tomllib.TOMLDecodeError as exc:
            # The message ends with "(at line N, column M)".
            problem = f"config file {path} is not valid TOML: {exc}"
        else:
            return _check(path, data, mode, warn)
    if explicit:
        raise ConfigError(problem)
    warn(f"{problem}; starting without it")
    return Config()


def _check(path: Path, data: dict[str, Any], mode: int, warn: Warn) -> Config:
    config = Config(path=path)
    if "api_key" in data and os.name == "posix" and mode & 0o044:
        warn(f"{path} holds an API key and others can read it; run: chmod 600 {path}")
    for key, value in data.items():
        if key not in KEYS:
            import difflib

            near = difflib.get_close_matches(key.replace("-", "_"), KEYS, n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            warn(f"{path}: unknown key {key!r} ignored{hint}")
            continue
        expected, valid = KEYS[key]
        if key in sampling.RULES and (problem := sampling.problem(key, value)):
            raise ConfigError(f"{path}: {problem}")
        if not valid(value):
            got = _describe(value, secret=key == "api_key")
            warn(f"{path}: {key} must be {expected}, got {got}; ignored")
        elif key == "sampling":
            config.sampling = _check_sampling(path, value, warn)
        else:
            config.values[key] = _convert(key, value)
    return config


def _check_sampling(path: Path, table: dict[str, Any], warn: Warn) -> dict[str, Any]:
    """The [sampling] entries, checked; a value vLLM would refuse is a `ConfigError`."""
    checked = {}
    for key, value in table.items():
        if key in RESERVED_BODY_KEYS:
            warn(f"{path}: sampling.{key} is set by vllm-chat itself; ignored")
        elif problem := sampling.misplaced(key, "config") or sampling.problem(key, value):
            raise ConfigError(f"{path}: sampling.{problem}")
        else:
            checked[key] = value
    return checked

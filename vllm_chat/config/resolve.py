"""One `Settings` from the flags over the environment over the config file over the defaults.

Also the flags' value checks that need more than argparse (numbers, the
`--extra-body` object). Imported only after the flags are parsed, or when a
flag that needs a check is given: `--help` never loads it.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from vllm_chat.config.defaults import (
    DEFAULT_CODE_THEME,
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_READ_TIMEOUT,
    DEFAULT_THINK,
    KEY_ORIGINS,
    RESERVED_BODY_KEYS,
)
from vllm_chat.config.file import Config, ConfigError, load, merge_body
from vllm_chat.config.sampling import flag_value, misplaced, problem, tool_choice
from vllm_chat.config.settings import (
    Settings,
    code_theme_problem,
    default_config_file,
    default_history_file,
    default_url,
    key_is_sendable,
    no_history_from_env,
    private_from_env,
    resolve_api_key,
    url_problem,
)

__all__ = [
    "ConfigError",
    "SettingsError",
    "extra_body",
    "flag_value",
    "positive_number",
    "resolve",
    "top_logprobs",
]

T = TypeVar("T")
Warn = Callable[[str], None]


class SettingsError(Exception):
    """A flag or environment value that cannot be used: a usage error (exit 2)."""


# ---- flag values -------------------------------------------------------------------------


def positive_number(text: str) -> float:
    """`--timeout`, `--connect-timeout`: a finite number above 0; ValueError says why not."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise ValueError(f"expected a number, got {text!r}")
    if value <= 0:
        raise ValueError(f"must be above 0, got {text}")
    return value


def top_logprobs(text: str) -> int:
    """`--logprobs N`: how many alternatives of each token, a whole number from 0."""
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"expected a whole number of alternatives, got {text!r}") from None
    if value < 0:
        raise ValueError(f"must be 0 or more, got {value}")
    return value


def extra_body(text: str) -> dict[str, Any]:
    """`--extra-body`: a JSON object that can be merged into a request body."""

    def no_constant(name: str) -> object:
        raise ValueError(f"{name} is not a JSON number")

    try:
        value = json.loads(text, parse_constant=no_constant)
    except ValueError as exc:  # json.JSONDecodeError included
        raise ValueError(f"not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ValueError(
            f"expected a JSON object such as '{{\"top_k\": 20}}', got {type(value).__name__}"
        )
    reserved = [key for key in RESERVED_BODY_KEYS if key in value]
    if reserved:
        raise ValueError(f"{reserved[0]!r} is set by vllm-chat itself")
    for key, item in value.items():
        refused = misplaced(key, "flag") or problem(key, item)
        if refused:
            raise ValueError(refused)
    return value


# ---- resolution --------------------------------------------------------------------------


def resolve(args: argparse.Namespace, *, warn: Warn) -> Settings:
    """The settings of this run, checked; `warn` gets one line per problem that is skipped.

    Raises `ConfigError` for a `--config` file that cannot be used and
    `SettingsError` for a flag or environment value that cannot be.
    """
    chosen = [flag for flag, given in (("-c", args.continue_chat), ("-r", args.resume is not None),
              ("--load", args.load is not None)) if given]  # fmt: skip
    if len(chosen) > 1:
        raise SettingsError(f"{' and '.join(chosen)} each choose the chat to go on with: give one")
    settings = settings_from_args(args, read_config(args, warn=warn))
    if problem_text := url_problem(settings.url):
        origin = "--url" if args.url is not None else "OPENAI_BASE_URL"
        raise SettingsError(f"{origin} {problem_text}")
    if not key_is_sendable(settings.api_key):
        origin = KEY_ORIGINS.get(settings.api_key_source, "the API key")
        raise SettingsError(f"the API key ({origin}) contains control characters (not shown)")
    return settings


def read_config(args: argparse.Namespace, *, warn: Warn) -> Config:
    """The config file's settings; `warn` for what it gets wrong (see `resolve` for errors)."""
    explicit = args.config is not None
    path = args.config.expanduser() if explicit else default_config_file()
    config = load(path, explicit=explicit, warn=warn)
    # Checked here, after the flags, so that only a theme in use costs the Pygments import.
    if args.code_theme is not None:
        if theme_problem := code_theme_problem(args.code_theme):
            raise SettingsError(f"--code-theme: {theme_problem}")
    elif "code_theme" in config.values and (
        theme_problem := code_theme_problem(config.values["code_theme"])
    ):
        warn(f"{config.path}: code_theme: {theme_problem}; ignored")
        del config.values["code_theme"]
    return config


def _first(*values: T | None, default: T) -> T:
    """The first value that is not None: flag, then environment or config, else `default`."""
    return next((value for value in values if value is not None), default)


def settings_from_args(args: argparse.Namespace, config: Config | None = None) -> Settings:
    """Settings from the flags over the environment over `config` over the defaults."""
    config = config or Config()
    api_key, source = resolve_api_key(args.api_key, config.get("api_key"))
    names = ("temperature", "top_p", "max_tokens")
    sampling: dict[str, object] = dict(config.sampling)
    sampling.update((name, config.values[name]) for name in names if name in config.values)
    if args.extra_body:
        sampling = merge_body(sampling, args.extra_body)
    if args.tool_choice:
        sampling["tool_choice"] = tool_choice(args.tool_choice)
    flags = {name: getattr(args, name) for name in names}
    sampling.update((name, value) for name, value in flags.items() if value is not None)
    no_history = _first(
        args.no_history or None, no_history_from_env(), config.get("no_history"), default=False
    )
    history_file: Path | None = None
    if not no_history:
        history_file = args.history_file or config.get("history_file") or default_history_file()
    return Settings(
        url=args.url or default_url(config.get("url")),
        model=args.model_name or config.get("model_name"),
        api_key=api_key,
        api_key_source=source,
        system_prompt=_first(args.system_prompt, config.get("system_prompt"), default=None),
        quick=args.quick,
        stats=_first(args.stats, config.get("stats"), default=False),
        sampling=sampling,
        history_file=history_file,
        timeout=_first(args.timeout, config.get("timeout"), default=DEFAULT_READ_TIMEOUT),
        connect_timeout=_first(
            args.connect_timeout, config.get("connect_timeout"), default=DEFAULT_CONNECT_TIMEOUT
        ),
        vi=_first(args.vi, config.get("vi"), default=False),
        think=_first(args.think, config.get("think"), default=DEFAULT_THINK),
        code_theme=_first(args.code_theme, config.get("code_theme"), default=DEFAULT_CODE_THEME),
        load=args.load,
        private=_first(args.private or None, private_from_env(), config.get("private"),
                       default=False),
        resume="" if args.continue_chat else (args.resume or None),
        pick=args.resume == "",
        tools_file=args.tools,
        logprobs=args.logprobs,
        json=args.json,
        config_file=config.path,
    )

"""Run-time settings (`Settings`), what the environment says of them, and where files live.

`resolve.py` puts the flags over the environment over the config file into one `Settings`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from vllm_chat.config.defaults import (
    ANSI_CODE_THEMES,
    DEFAULT_CODE_THEME,
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_READ_TIMEOUT,
    DEFAULT_THINK,
    DEFAULT_URL,
)


@dataclass
class Settings:
    """Everything the command line decides before a chat starts."""

    url: str = DEFAULT_URL
    model: str | None = None
    api_key: str | None = None
    # "flag", "environment", "config" or "none"; never the key itself
    api_key_source: str = "none"
    system_prompt: str | None = None
    quick: str | None = None
    stats: bool = False
    sampling: dict[str, object] = field(default_factory=dict)
    history_file: Path | None = None
    timeout: float = DEFAULT_READ_TIMEOUT
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    vi: bool = False  # vi key bindings in the prompt instead of Emacs ones
    think: str = DEFAULT_THINK  # one of defaults.THINK_MODES
    code_theme: str = DEFAULT_CODE_THEME  # Pygments style (or ansi_dark/ansi_light)
    load: str | None = None  # a saved chat to resume, as typed (see saved.resolve)
    private: bool = False  # keep nothing in the chat store this run
    resume: str | None = None  # -c: "" (the latest chat); -r QUERY: QUERY; -r: None + pick
    pick: bool = False  # -r without QUERY: choose the chat from a list
    tools_file: Path | None = None  # --tools: tool definitions sent with each request
    logprobs: int | None = None  # --logprobs N: top_logprobs asked for; None: none asked
    json: bool = False  # --json: -q prints one JSON object (errors too, on stderr)
    config_file: Path | None = None  # the config file that was read, if any

    def __repr__(self) -> str:  # keep the key out of any accidental print or traceback
        return f"Settings(url={self.url!r}, model={self.model!r}, api_key=***)"


def data_dir() -> Path:
    """`$XDG_DATA_HOME/vllm-chat`, by default `~/.local/share/vllm-chat`.

    A relative `XDG_DATA_HOME` is ignored, as the XDG spec says.
    """
    base = os.environ.get("XDG_DATA_HOME", "")
    if not os.path.isabs(base):
        base = os.path.join(Path.home(), ".local", "share")
    return Path(base) / "vllm-chat"


def default_history_file() -> Path:
    return data_dir() / "history"


def config_dir() -> Path:
    """`$XDG_CONFIG_HOME/vllm-chat`, by default `~/.config/vllm-chat`."""
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(Path.home(), ".config")
    return Path(base) / "vllm-chat"


def default_config_file() -> Path:
    return config_dir() / "config.toml"


def default_url(config_url: str | None = None) -> str:
    """`OPENAI_BASE_URL` (as the OpenAI client reads it), else the config file's, else ours."""
    return os.environ.get("OPENAI_BASE_URL") or config_url or DEFAULT_URL


def resolve_api_key(
    flag_value: str | None, config_value: str | None = None
) -> tuple[str | None, str]:
    """The key and where it came from: flag, then `OPENAI_API_KEY`, then the config file.

    Surrounding whitespace (a key read from a file keeps its line end) is dropped.
    """
    for value, source in (
        (flag_value, "flag"),
        (os.environ.get("OPENAI_API_KEY"), "environment"),
        (config_value, "config"),
    ):
        if value and value.strip():
            return value.strip(), source
    return None, "none"


def url_problem(url: str) -> str | None:
    """Why `url` cannot be the API's base URL (as `--url` and `/connect` check), or None."""
    from urllib.parse import urlsplit

    if not url.startswith(("http://", "https://")):
        return f"must start with http:// or https://, got {url!r}"
    try:
        host = urlsplit(url).hostname
    except ValueError:  # an unclosed [ of an IPv6 address
        host = None
    return None if host else f"has no host name, got {url!r}"


def line_may_hold_key(line: str) -> bool:
    """Whether a typed line may hold a key: `/key KEY`, `/connect URL KEY` (both refused).

    Such a line is never kept in the prompt history; `/key` and `/connect URL
    --key` themselves are, since the key is then typed at a hidden prompt.
    """
    words = line.split()
    if not words or words[0].lower() not in ("/key", "/connect"):
        return False
    rest = [word for word in words[1:] if word != "--key"]
    return len(rest) > (0 if words[0].lower() == "/key" else 1) or any("--key=" in w for w in rest)


def key_is_sendable(api_key: str | None) -> bool:
    """Whether the key can go in an HTTP header (no control characters inside)."""
    return api_key is None or not any(ord(char) < 0x20 or ord(char) == 0x7F for char in api_key)


def history_disabled_by_env() -> bool:
    return os.environ.get("VLLM_CHAT_NO_HISTORY", "").strip().lower() in {"1", "true", "yes"}


def private_from_env() -> bool | None:
    """What `VLLM_CHAT_PRIVATE` says (1/true/yes: keep nothing), or None when unset."""
    value = os.environ.get("VLLM_CHAT_PRIVATE", "").strip().lower()
    return None if not value else value in {"1", "true", "yes"}


def no_history_from_env() -> bool | None:
    """What `VLLM_CHAT_NO_HISTORY` says, or None when it is unset or blank.

    Set to anything else than 1/true/yes (such as 0), it turns history back on
    over a config file's `no_history = true`.
    """
    if not os.environ.get("VLLM_CHAT_NO_HISTORY", "").strip():
        return None
    return history_disabled_by_env()


def code_theme_problem(name: str) -> str | None:
    """Why `name` is not a usable code theme, or None when it is."""
    if name == DEFAULT_CODE_THEME or name in ANSI_CODE_THEMES:
        return None
    try:
        from pygments.styles import STYLE_MAP, get_style_by_name
        from pygments.util import ClassNotFound
    except ImportError:  # nothing to check against; the renderer will say
        return None
    try:
        get_style_by_name(name)  # finds plugin styles too
    except ClassNotFound:
        import difflib

        near = difflib.get_close_matches(name, [*STYLE_MAP, *ANSI_CODE_THEMES], n=1)
        hint = f"did you mean {near[0]!r}?" if near else "see `pygmentize -L styles`"
        return f"unknown code theme {name!r} ({hint})"
    return None


LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1", "[::1]"}


def key_sent_in_clear(url: str, api_key: str | None) -> bool:
    """Whether a key would travel unencrypted (plain http) beyond this machine."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    return (
        bool(api_key)
        and parts.scheme == "http"
        and not (host in LOOPBACK_HOSTS or host.startswith("127.") or host.endswith(".localhost"))
    )

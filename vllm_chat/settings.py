"""Run-time settings: defaults < environment < flags, and the places files live."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from vllm_chat.defaults import DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT, DEFAULT_URL


@dataclass
class Settings:
    """Everything the command line decides before a chat starts."""

    url: str = DEFAULT_URL
    model: str | None = None
    api_key: str | None = None
    api_key_source: str = "none"  # "flag", "environment" or "none"; never the key itself
    system_prompt: str | None = None
    quick: str | None = None
    stats: bool = False
    sampling: dict[str, object] = field(default_factory=dict)
    history_file: Path | None = None
    timeout: float = DEFAULT_READ_TIMEOUT
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT

    def __repr__(self) -> str:  # keep the key out of any accidental print or traceback
        return f"Settings(url={self.url!r}, model={self.model!r}, api_key=***)"


def data_dir() -> Path:
    """`$XDG_DATA_HOME/vllm-chat`, by default `~/.local/share/vllm-chat`."""
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(Path.home(), ".local", "share")
    return Path(base) / "vllm-chat"


def default_history_file() -> Path:
    return data_dir() / "history"


def default_url() -> str:
    """`OPENAI_BASE_URL` replaces the built-in default, as the OpenAI client does."""
    return os.environ.get("OPENAI_BASE_URL") or DEFAULT_URL


def resolve_api_key(flag_value: str | None) -> tuple[str | None, str]:
    """The key and where it came from: the flag beats `OPENAI_API_KEY`."""
    if flag_value:
        return flag_value, "flag"
    env_value = os.environ.get("OPENAI_API_KEY")
    if env_value:
        return env_value, "environment"
    return None, "none"


def history_disabled_by_env() -> bool:
    return os.environ.get("VLLM_CHAT_NO_HISTORY", "").strip().lower() in {"1", "true", "yes"}


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

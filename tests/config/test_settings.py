"""Settings: where the key, the URL and the data directory come from."""

from __future__ import annotations

from pathlib import Path

import pytest

from vllm_chat.config import settings
from vllm_chat.config.settings import Settings


def test_flag_key_beats_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "from-env")
    assert settings.resolve_api_key("from-flag") == ("from-flag", "flag")


def test_environment_key_when_no_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "from-env")
    assert settings.resolve_api_key(None) == ("from-env", "environment")
    assert settings.resolve_api_key("") == ("from-env", "environment")


def test_no_key_anywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    assert settings.resolve_api_key(None) == (None, "none")
    monkeypatch.setenv("OPENAI_API_KEY", "")
    assert settings.resolve_api_key(None) == (None, "none")


def test_default_url(monkeypatch: pytest.MonkeyPatch) -> None:
    assert settings.default_url() == "http://localhost:8000/v1"
    monkeypatch.setenv("OPENAI_BASE_URL", "http://gpu-box:9000/v1")
    assert settings.default_url() == "http://gpu-box:9000/v1"
    monkeypatch.setenv("OPENAI_BASE_URL", "")
    assert settings.default_url() == "http://localhost:8000/v1"


def test_data_dir_honours_xdg_data_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert settings.data_dir() == tmp_path / "data" / "vllm-chat"
    assert settings.default_history_file() == tmp_path / "data" / "vllm-chat" / "history"


def test_data_dir_default_is_under_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert settings.data_dir() == tmp_path / ".local" / "share" / "vllm-chat"
    monkeypatch.setenv("XDG_DATA_HOME", "")
    assert settings.data_dir() == tmp_path / ".local" / "share" / "vllm-chat"


@pytest.mark.parametrize(
    ("value", "disabled"),
    [("1", True), ("true", True), ("YES", True), (" yes ", True), ("0", False), ("", False)],
)
def test_history_disabled_by_env(
    monkeypatch: pytest.MonkeyPatch, value: str, disabled: bool
) -> None:
    monkeypatch.setenv("VLLM_CHAT_NO_HISTORY", value)
    assert settings.history_disabled_by_env() is disabled


def test_history_enabled_without_the_variable() -> None:
    assert settings.history_disabled_by_env() is False


def test_settings_repr_never_shows_the_key() -> None:
    secret = "sk-very-secret-0123456789"
    config = Settings(url="http://127.0.0.1:1/v1", model="m", api_key=secret, api_key_source="flag")
    for shown in (repr(config), str(config), f"{config}", f"{config!r}", repr([config])):
        assert secret not in shown
        assert "http://127.0.0.1:1/v1" in shown


def test_settings_defaults() -> None:
    config = Settings()
    assert config.url == "http://localhost:8000/v1"
    assert config.api_key is None
    assert config.api_key_source == "none"
    assert config.timeout == 600.0
    assert config.sampling == {}
    assert Settings().sampling is not config.sampling


@pytest.mark.parametrize(
    ("url", "key", "in_clear"),
    [
        ("http://gpu-box:8000/v1", "k", True),
        ("http://10.0.0.5:8000/v1", "k", True),
        ("https://gpu-box/v1", "k", False),
        ("http://localhost:8000/v1", "k", False),
        ("http://127.0.0.1:8000/v1", "k", False),
        ("http://127.1.2.3:8000/v1", "k", False),
        ("http://[::1]:8000/v1", "k", False),
        ("http://app.localhost:8000/v1", "k", False),
        ("http://gpu-box:8000/v1", None, False),
        ("http://gpu-box:8000/v1", "", False),
    ],
)
def test_key_sent_in_clear(url: str, key: str | None, in_clear: bool) -> None:
    assert settings.key_sent_in_clear(url, key) is in_clear


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://127.0.0.1:8000/v1", None),
        ("https://gpu-box/v1", None),
        ("http://[::1]:8000/v1", None),
        ("localhost:8000/v1", "must start with http:// or https://, got 'localhost:8000/v1'"),
        ("ftp://gpu-box/v1", "must start with http:// or https://"),
        ("http://", "has no host name, got 'http://'"),
        ("http://[::1/v1", "has no host name"),
    ],
)
def test_url_problem(url: str, problem: str | None) -> None:
    found = settings.url_problem(url)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found


@pytest.mark.parametrize(
    ("line", "may_hold_key"),
    [
        ("/key", False),
        ("/KEY  ", False),
        ("/key sk-abc", True),
        ("/connect", False),
        ("/connect --key", False),
        ("/connect http://gpu-box/v1 --key", False),
        ("/connect http://gpu-box/v1 sk-abc", True),
        ("/connect --key=sk-abc", True),
        ("/connect http://gpu-box/v1 --key sk-abc", True),
        ("/keys please", False),
        ("what is a key sk-abc", False),
    ],
)
def test_line_may_hold_key(line: str, may_hold_key: bool) -> None:
    assert settings.line_may_hold_key(line) is may_hold_key

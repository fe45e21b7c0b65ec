"""Shared fixtures: a clean environment for every test and stand-in vLLM servers."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pexpect
import pytest

from tests import (
    emulator,  # noqa: F401  (pyte deletes lines as terminals do)
    portability,
    processes,
)
from tests.standin import StandinServer

# The real-server suite (tests/vllm) needs vLLM's own environment: `make test-vllm` runs it.
collect_ignore = [] if os.environ.get("VLLM_CHAT_REAL_SERVER") else ["vllm"]
# The soak tests (300 turns, 2 MB messages: a tenth of the suite's CPU) run on their own,
# `make soak` (VLLM_CHAT_SOAK=1), which CI runs beside another suite, so under load too.
collect_ignore += [] if os.environ.get("VLLM_CHAT_SOAK") == "1" else ["test_soak.py"]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Keep tests away from the user's config, history and OpenAI settings."""
    for name in ("data", "config"):
        (tmp_path / f"xdg-{name}").mkdir()
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "VLLM_CHAT_NO_HISTORY", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")


@pytest.fixture(autouse=True)
def children_policy(request: pytest.FixtureRequest) -> Iterator[None]:
    """In a portability run only `every_python` tests start programs (tests/portability.py)."""
    if portability.ON and request.node.get_closest_marker("every_python") is None:
        processes.children_refused = portability.CHILDREN_SKIPPED
    yield
    processes.children_refused = None


@pytest.fixture
def server() -> Iterator[StandinServer]:
    """A started stand-in server with the default models."""
    with StandinServer() as standin:
        yield standin


@pytest.fixture
def server_factory() -> Iterator[Callable[..., StandinServer]]:
    """Make started stand-in servers with custom arguments; all stopped at teardown."""
    started: list[StandinServer] = []

    def make(**kwargs: Any) -> StandinServer:
        standin = StandinServer(**kwargs).start()
        started.append(standin)
        return standin

    yield make
    for standin in started:
        standin.stop()


@pytest.fixture
def children() -> Iterator[list[pexpect.spawn]]:
    """Commands spawned in pseudo-terminals; any still running is killed at teardown."""
    started: list[pexpect.spawn] = []
    yield started
    for child in started:
        if child.isalive():
            child.terminate(force=True)

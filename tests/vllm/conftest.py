"""Real vLLM servers, started once per test session (start-up takes 25-45 s each).

- `vllm`: the tiny model behind an API key, with hermes tool-call parsing on: one
  server for every test (a key and a tool parser change nothing for other requests).
- `dying_vllm`: the same model with a head size of 16, which vLLM's CPU attention kernel
  rejects at the first request: the engine dies mid-stream, as users meet it.

Both start together on first use (two cores: one engine each). With VLLM_CHAT_TEST_URL
the tests run against that already running server instead, and the tests that need a
server of our own making (a known key, an engine that dies) are skipped with a reason.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.vllm import server as real

FLAVOURS = {
    "main": dict(
        api_key=real.API_KEY,
        args=("--enable-auto-tool-choice", "--tool-call-parser", "hermes"),
    ),
    "dying": dict(),
}


@pytest.fixture(scope="session")
def _started() -> Iterator[dict[str, real.RealServer]]:
    """Every flavour, started at once; all stopped at the end."""
    if real.external() is not None:
        yield {}
        return
    models = {"main": real.tiny_model(), "dying": real.tiny_model("tiny-model-head16", head_dim=16)}
    servers: dict[str, real.RealServer] = {}
    try:
        for name, options in FLAVOURS.items():
            servers[name] = real.start(models[name], name=name, **options)  # type: ignore[arg-type]
        # Both ready before any test: one still starting would starve the client under test.
        for started in servers.values():
            real.wait_ready(started)
        yield servers
    finally:
        for started in servers.values():
            started.stop()


@pytest.fixture(scope="session")
def vllm(_started: dict[str, real.RealServer]) -> real.RealServer:
    """The real server every test talks to."""
    return real.external() or _started["main"]


@pytest.fixture(scope="session")
def keyed_vllm(vllm: real.RealServer) -> real.RealServer:
    """The real server, when it wants an API key and the tests know it."""
    if not vllm.api_key:
        pytest.skip("the server has no API key (give it with VLLM_CHAT_TEST_API_KEY)")
    return vllm


@pytest.fixture(scope="session")
def own_vllm(vllm: real.RealServer) -> real.RealServer:
    """The real server, when this suite started it (and so can read its log)."""
    if not vllm.started:
        pytest.skip("reads the log of the server that make test-vllm starts")
    return vllm


@pytest.fixture(scope="session")
def dying_vllm(_started: dict[str, real.RealServer]) -> real.RealServer:
    if "dying" not in _started:
        pytest.skip("needs the server that make test-vllm starts (VLLM_CHAT_TEST_URL is set)")
    return _started["dying"]


@pytest.fixture(autouse=True)
def _server_still_up(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test that kills the shared server is a bug: say so at the test that did it."""
    yield
    if "vllm" in request.fixturenames:
        server: real.RealServer = request.getfixturevalue("vllm")
        assert server.alive(), f"the vLLM server died; its log ends:\n{server.log_tail()}"

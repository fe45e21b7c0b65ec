"""What only the real server sends, and what the client makes of it.

The recorded samples (tests/vllm/samples) must still be what the live server answers:
the stand-in is held to them (tests/test_standin_matches_vllm.py), so a vLLM that moves
on shows up here first. VLLM_CHAT_RECORD_SAMPLES=1 records them anew instead.
"""

from __future__ import annotations

import os

import pytest
import requests

from tests.vllm import samples
from tests.vllm.server import RealServer
from vllm_chat.client.api import Client
from vllm_chat.client.events import ContentDelta, Finish, Usage


def max_model_len(vllm: RealServer) -> int:
    listed = requests.get(f"{vllm.url}/models", headers=vllm.headers(), timeout=10).json()
    return int(next(m["max_model_len"] for m in listed["data"] if m["id"] == vllm.model))


@pytest.mark.skipif(
    not os.environ.get("VLLM_CHAT_RECORD_SAMPLES"),
    reason="records only when asked: VLLM_CHAT_RECORD_SAMPLES=1",
)
def test_record_the_samples(vllm: RealServer) -> None:
    assert vllm.started, "record from the server that make test-vllm starts"
    samples.save(
        samples.record(vllm.root, vllm.api_key, vllm.model, max_model_len(vllm), vllm.eos_id)
    )


@pytest.mark.parametrize("name", sorted(samples.load()))
def test_the_live_server_still_answers_as_recorded(keyed_vllm: RealServer, name: str) -> None:
    vllm = keyed_vllm
    recorded_version = samples.load()["version"]["body"]["version"]
    version = requests.get(f"{vllm.root}/version", timeout=10).json()["version"]
    if version != recorded_version:
        pytest.skip(f"the samples are of vLLM {recorded_version}; this server is {version}")
    asked = samples.exchanges(vllm.model, max_model_len(vllm), vllm.eos_id)
    if name not in asked:
        pytest.skip(f"{name} needs the tiny model that make test-vllm builds")
    exchange = asked[name]
    live = samples.answer_shapes(samples.fetch(vllm.root, vllm.api_key, exchange))
    recorded = samples.answer_shapes(samples.load()[name])
    assert live == recorded


def test_events_from_vllms_stream(vllm: RealServer) -> None:
    """The empty first delta, `token_ids: null`, the finish on the last token's chunk, the
    usage chunk with empty `choices`: the client's events are exactly the answer."""
    body = {
        "model": vllm.model,
        "messages": [{"role": "user", "content": "hello"}],
        "max_tokens": 16,
        "seed": 3,
        "stream_options": {"include_usage": True},
    }
    direct = vllm.stream(body)
    client = Client(vllm.url, vllm.api_key)
    try:
        events = list(client.stream_chat(body))
    finally:
        client.close()
    text = "".join(e.text for e in events if isinstance(e, ContentDelta))
    expected = "".join(
        c["choices"][0]["delta"].get("content") or "" for c in direct if c["choices"]
    )  # type: ignore[index]
    assert text == expected
    assert [e for e in events if isinstance(e, Finish)] == [Finish("length")]
    usage = [e for e in events if isinstance(e, Usage)]
    assert len(usage) == 1 and usage[0].completion_tokens == 16
    assert not any(isinstance(e, ContentDelta) and e.text == "" for e in events)


def test_health_version_and_metrics_need_no_key(vllm: RealServer) -> None:
    assert requests.get(f"{vllm.root}/health", timeout=10).status_code == 200
    assert requests.get(f"{vllm.root}/version", timeout=10).json()["version"]
    assert "vllm:num_requests_running" in requests.get(f"{vllm.root}/metrics", timeout=10).text

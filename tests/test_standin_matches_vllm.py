"""The stand-in answers in the shapes the real vLLM server answers in.

The samples were recorded from vLLM 0.32.0 by the real-server suite (tests/vllm), which
also checks that the live server still answers so. Streams and errors must match
exactly, chunk kind by chunk kind (first, middle, last token, usage); other bodies may
leave out fields vLLM sends that the client never reads, but may not invent any, nor
give a field another type.
"""

from __future__ import annotations

import pytest

from tests.standin import StandinServer
from tests.vllm import samples

RECORDED = samples.load()
KEY = "standin-key"
EXACT = {
    "stream",
    "stream_with_usage",
    "stream_ended_by_the_model",
    "unknown_model",
    "wrong_key",
    "max_tokens_over_context",
    "stream_with_logprobs",
    "logprobs_over_max",
}


@pytest.fixture(scope="module")
def standin():
    with StandinServer(models=["tiny"], api_key=KEY, max_model_len=2048) as server:
        yield server


@pytest.mark.parametrize("name", sorted(RECORDED))
def test_the_standin_answers_in_vllms_shape(standin: StandinServer, name: str) -> None:
    exchange = samples.exchanges("tiny", 2048, eos_id=2)[name]
    root = standin.url.removesuffix("/v1")
    ours = samples.answer_shapes(samples.fetch(root, KEY, exchange))
    theirs = samples.answer_shapes(RECORDED[name])
    assert ours.keys() == theirs.keys()
    for part, shape in theirs.items():
        if name in EXACT or part in ("status", "content_type", "done"):
            assert ours[part] == shape, part
        else:
            assert ours[part] <= shape, f"{part}: not in vLLM's answer: {ours[part] - shape}"


def test_the_samples_hold_what_the_issue_saw_on_the_wire() -> None:
    """The recorded facts the client and the stand-in rely on, spelt out."""
    events = RECORDED["stream_with_usage"]["events"]
    first, *tokens, usage, done = events
    assert first["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert first["prompt_token_ids"] is None and first["prompt_text"] is None
    assert all(chunk["choices"][0]["token_ids"] is None for chunk in tokens)
    assert tokens[-1]["choices"][0]["finish_reason"] == "length"
    assert "stop_reason" in tokens[-1]["choices"][0]
    assert usage["choices"] == [] and usage["system_fingerprint"].startswith("vllm-")
    assert done == "[DONE]"
    assert RECORDED["wrong_key"]["body"] == {"error": "Unauthorized"}
    assert set(RECORDED["unknown_model"]["body"]["error"]) == {"message", "type", "param", "code"}
    assert RECORDED["health"] == {**RECORDED["health"], "status": 200, "text": ""}

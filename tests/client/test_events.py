"""Chunks of a stream to events: the usage chunk's figures, as vLLM sends them."""

from __future__ import annotations

import json

from vllm_chat.client.events import Usage, parse_chunk


def usage_chunk(**usage: object) -> str:
    # vLLM's usage chunk: no choices, the figures, its fingerprint (tests/vllm/samples).
    return json.dumps({"choices": [], "usage": usage, "system_fingerprint": "vllm-0.32.0"})


def test_cached_prompt_tokens_are_read_when_the_server_sends_them() -> None:
    payload = usage_chunk(
        prompt_tokens=1024, completion_tokens=8, total_tokens=1032,
        prompt_tokens_details={"cached_tokens": 896},
    )  # fmt: skip
    assert parse_chunk(payload) == [Usage(1024, 8, 1032, cached_tokens=896)]


def test_no_details_or_null_ones_mean_no_cached_count() -> None:
    for details in ({}, {"prompt_tokens_details": None}, {"prompt_tokens_details": {}}):
        payload = usage_chunk(prompt_tokens=14, completion_tokens=3, total_tokens=17, **details)
        assert parse_chunk(payload) == [Usage(14, 3, 17, cached_tokens=None)]

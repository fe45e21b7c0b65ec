"""/server, /tokens, the toolbar's count and cached prompt tokens against the real vLLM:
its /version, /health, /models, /metrics and /tokenize as they really are."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from tests.repl.test_power import run_repl
from tests.repl.test_repl import CTRL_D
from tests.vllm import server as real
from tests.vllm.server import RealServer
from vllm_chat.app import make_chat
from vllm_chat.chat.session import Chat
from vllm_chat.config.settings import Settings


def chat_with(vllm: RealServer, **settings: Any) -> Chat:
    sampling = {"max_tokens": 8, "seed": 1, "ignore_eos": True}
    return make_chat(Settings(url=vllm.url, api_key=vllm.api_key, private=True,
                              sampling=sampling, **settings))  # fmt: skip


def tokenize(vllm: RealServer, body: dict[str, Any]) -> dict[str, Any]:
    """vLLM's own answer, asked directly."""
    answer = requests.post(f"{vllm.root}/tokenize", json={"model": vllm.model, **body}, timeout=30)
    answer.raise_for_status()
    result: dict[str, Any] = answer.json()
    return result


def eventually(check: Callable[[], bool], what: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_server_shows_what_vllm_says_about_itself(vllm: RealServer, capsys) -> None:
    version = requests.get(f"{vllm.root}/version", timeout=10).json()["version"]
    card = requests.get(f"{vllm.url}/models", headers=vllm.headers(), timeout=10).json()["data"][0]
    run_repl(chat_with(vllm), "/server\rhello\r/server\r" + CTRL_D)
    out, err = capsys.readouterr()
    # Each look: from its first line to its throughput line (the answer comes between).
    looks = re.findall(r"^server {8}.*?^throughput [^\n]*", out, re.M | re.S)
    assert len(looks) == 2, out
    for look in looks:
        lines = look.splitlines()
        assert lines[0] == f"server        {vllm.root} · vLLM {version} · healthy"
        assert lines[1].startswith(
            (f"models        * {card['id']} · ", f"models          {card['id']}")
        )
        assert f"max_model_len {card['max_model_len']:,}" in lines[1]
        assert f"root {card['root']}" in lines[1]
        assert re.fullmatch(r"requests      \d+ running · \d+ waiting", lines[2]), lines
        assert re.fullmatch(r"KV cache      \d+\.\d% in use", lines[3]), lines
    first, second = (look.splitlines() for look in looks)
    assert second[1].startswith(f"models        * {card['id']} · ")  # the one in use, once known
    assert first[-1] == "throughput    first look: /server again shows tokens/s since this one"
    # Between the looks vLLM read a prompt and made 8 tokens: both rates are above zero.
    rates = re.fullmatch(
        r"throughput    ([\d,.]+) prompt \+ ([\d,.]+) generation tokens/s in the last [\d.]+ s",
        second[-1],
    )
    assert rates, second
    assert all(float(rate.replace(",", "")) > 0 for rate in rates.groups())
    assert any(line.startswith("prefix cache  ") for line in second)  # prefix caching is on
    assert "error" not in err.lower()


def test_tokens_of_a_text_are_vllms(vllm: RealServer, capsys) -> None:
    text = "Hello world, how are you?"
    expected = tokenize(vllm, {"prompt": text, "add_special_tokens": False,
                               "return_token_strs": True})  # fmt: skip
    run_repl(chat_with(vllm), f"/tokens {text}\r" + CTRL_D)
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["│".join(expected["token_strs"]), f"{expected['count']} tokens"]


def test_tokens_of_the_conversation_and_the_toolbar_agree_with_vllm(
    vllm: RealServer, capsys
) -> None:
    chat = chat_with(vllm, system_prompt="Be brief.")
    repl = run_repl(chat, "hello\r/tokens\r" + CTRL_D)
    messages = chat.conversation.request_messages()
    expected = tokenize(vllm, {"messages": messages, "add_generation_prompt": True,
                               "return_token_strs": True})  # fmt: skip
    count, limit = expected["count"], expected["max_model_len"]
    lines = capsys.readouterr().out.splitlines()
    assert lines[-2] == "│".join(expected["token_strs"])
    assert lines[-1] == (
        f"the next request's prompt: {count} tokens through the chat template, "
        f"of max_model_len {limit:,}: {limit - count:,} left for the answer"
    )
    # The toolbar shows the same count, asked in the background after the turn.
    eventually(lambda: f" {count:,} / {limit:,} tokens" in repl.toolbar(), "the toolbar count")


# ---- cached prompt tokens: a server that reports them -----------------------------------


@pytest.fixture(scope="module")
def detailed_vllm(vllm: RealServer) -> Iterator[RealServer]:
    """The tiny model served with --enable-prompt-tokens-details (usage's cached tokens)."""
    if not vllm.started:
        pytest.skip("starts a vLLM server of its own (VLLM_CHAT_TEST_URL is set)")
    started = real.start(real.tiny_model(), name="details",
                         args=("--enable-prompt-tokens-details",))  # fmt: skip
    try:
        yield real.wait_ready(started)
    finally:
        started.stop()


def test_cached_prompt_tokens_show_prefix_caching_at_work(
    detailed_vllm: RealServer, capsys
) -> None:
    # A system prompt of a few hundred tokens: the second request finds its blocks cached.
    chat = chat_with(detailed_vllm, stats=True, system_prompt="Answer briefly. " * 60)
    repl = run_repl(chat, "hello\rhello again\r/server\r" + CTRL_D)
    out, err = capsys.readouterr()
    stats = [line for line in err.splitlines() if "completion tokens" in line]
    assert len(stats) == 2, err
    cached = [int(re.search(r", (\d+) cached$", line)[1]) for line in stats]  # type: ignore[index]
    assert cached[0] == 0 and cached[1] > 0, stats
    assert f" · {cached[1]:,} cached" in repl.toolbar()
    hit = re.search(r"^prefix cache  (\d+\.\d)% hit since the server started", out, re.M)
    assert hit and float(hit[1]) > 0, out

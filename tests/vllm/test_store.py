"""The chat store against the real server: a turn, exit, `-c` carries the whole chat."""

from __future__ import annotations

import os
import re
from pathlib import Path

import requests

from tests.vllm.server import RealServer
from tests.vllm.test_quick import quick
from vllm_chat.store.chats import ChatStore


def prompt_tokens(stats: bytes) -> int:
    found = re.search(r"(\d+) prompt \+", stats.decode())
    assert found, stats
    return int(found.group(1))


def test_continue_sends_the_stored_chat_to_vllm(vllm: RealServer) -> None:
    first = quick(vllm, "-q", "first question", "--max-tokens", "6")
    assert first.returncode == 0, first.stderr
    second = quick(vllm, "-c", "-q", "second question", "--max-tokens", "6", "--stats")
    assert second.returncode == 0, second.stderr

    store = ChatStore(Path(os.environ["XDG_DATA_HOME"]) / "vllm-chat" / "chats.db")
    chat = store.latest()
    assert chat is not None and chat.turns == 2 and chat.model == vllm.model
    messages, stats = store.messages(chat.id)
    assert [m.role for m in messages] == ["user", "assistant", "user", "assistant"]
    assert messages[1].content == first.stdout.decode().removesuffix("\n")
    assert stats[3]["usage"]["completion_tokens"] == 6
    assert store.integrity() == "ok"

    # vLLM counted, as prompt, exactly the stored first exchange and the new question.
    sent = [{"role": m.role, "content": m.content} for m in messages[:3]]
    counted = requests.post(
        f"{vllm.root}/tokenize",
        json={"model": vllm.model, "messages": sent, "add_generation_prompt": True},
        headers=vllm.headers(),
        timeout=10,
    ).json()["count"]
    assert prompt_tokens(second.stderr) == counted

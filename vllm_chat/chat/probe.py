"""Does the chat template open `<think>` itself? The server's `/tokenize` says, asked
beside the answer.

Its prompt for the conversation ending in `<think>` means the answer starts inside
the think block (Qwen3 thinking models, DeepSeek-R1 served without a reasoning
parser). Asked once per model and template arguments; a server without /tokenize
(not vLLM) means no. The question goes out in a thread as the chat request does:
the answer needs it only at its first text, so it costs no round trip before it.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from vllm_chat.chat.think import prompt_opens_think
from vllm_chat.client.api import Client


def template_key(body: dict[str, Any]) -> tuple[str, str]:
    """What the chat template's opening depends on: the model and its arguments."""
    kwargs = body.get("chat_template_kwargs")
    return str(body["model"]), json.dumps(kwargs, sort_keys=True, default=str)


class ThinkProbe:
    """Asks at once, in a thread; calling it waits for the answer (True: it opens)."""

    def __init__(self, client: Client, body: dict[str, Any]) -> None:
        self._client, self._body = client, body
        self._opens = False
        self._thread = threading.Thread(target=self._ask, name="think-probe", daemon=True)
        self._thread.start()

    def __call__(self) -> bool:
        self._thread.join()
        return self._opens

    def _ask(self) -> None:
        body = self._body
        token_strs = self._client.tokenize_chat(  # never raises: None without an answer
            body["model"], probe_messages(body["messages"]), body.get("chat_template_kwargs")
        )
        self._opens = token_strs is not None and prompt_opens_think(token_strs)


def probe_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A small stand-in for the conversation: its system prompt and last message, as text.

    The generation prompt the template appends does not depend on the history,
    and text alone spares the server from loading images for a probe.
    """
    kept = [m for m in messages[:-1] if m.get("role") == "system"] + messages[-1:]
    return [{"role": m.get("role"), "content": _text_only(m.get("content"))} for m in kept]


def _text_only(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text") for p in content if isinstance(p, dict)]
        return "\n".join(p for p in parts if isinstance(p, str))
    return ""

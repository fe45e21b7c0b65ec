"""The toolbar's count of the tokens in the context, asked of vLLM's `/tokenize`.

After each line the REPL handles, `ContextCounter.changed` looks at what the next
request's prompt would be; when it changed, a background thread asks the server to
count it through the chat template (as `/tokens` does), and the toolbar shows that
count once it is in. Typing never waits for it. A server without `/tokenize` is
asked once; a conversation with images is not counted (the server would have to
load them), nor anything while no model is known: the last answer's usage stands.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from vllm_chat.chat.session import Chat
from vllm_chat.client import server as insight
from vllm_chat.client.errors import ApiError

COUNT_TIMEOUT = 2.0  # seconds: a count that comes later than that is not worth the wait


@dataclass(frozen=True)
class _Prompt:
    """What the next request's prompt depends on, and its key (to tell a change)."""

    key: str
    root: str
    model: str
    messages: list[dict[str, Any]]
    kwargs: Any
    tools: Any


class ContextCounter:
    """Counts the conversation's tokens in the background after it changes."""

    def __init__(self, chat: Chat, on_count: Callable[[], None] = lambda: None) -> None:
        self._chat = chat
        self._on_count = on_count  # called from the counting thread (to redraw the toolbar)
        self._wanted: _Prompt | None = None
        self._counted: tuple[str, int] | None = None  # (key, count) of the last count
        self._lacking: set[str] = set()  # the roots of servers without /tokenize
        self._lock = threading.Lock()
        self._busy = False

    def count(self) -> int | None:
        """The tokens of the next request's prompt, if counted since its last change."""
        counted, wanted = self._counted, self._wanted
        if counted is None or wanted is None or counted[0] != wanted.key:
            return None
        return counted[1]

    def changed(self) -> None:
        """The conversation may have changed: count it again (in the background) if so."""
        try:
            prompt = self._prompt()
        except Exception:  # called from anywhere (a callback thread too): never a trace
            prompt = None
        with self._lock:
            if prompt is not None and self._wanted is not None and prompt.key == self._wanted.key:
                return
            self._wanted = prompt
            if prompt is None or self._busy:
                return  # a thread at work takes the latest prompt when it is done
            self._busy = True
        threading.Thread(target=self._work, name="context-count", daemon=True).start()

    def _prompt(self) -> _Prompt | None:
        chat = self._chat
        root = chat.client.server_root
        if chat.model is None or root in self._lacking:
            return None
        messages = chat.conversation.request_messages()
        if not messages or not all(_text_only(m.get("content")) for m in messages):
            return None
        kwargs = chat.sampling.get("chat_template_kwargs")
        key = json.dumps([root, chat.model, messages, kwargs, chat.tools], default=str)
        return _Prompt(key, root, chat.model, messages, kwargs, chat.tools)

    def _work(self) -> None:
        done: str | None = None
        while True:
            with self._lock:
                prompt = self._wanted
                if prompt is None or prompt.key == done:
                    self._busy = False
                    return
            done = prompt.key
            self._count(prompt)

    def _count(self, prompt: _Prompt) -> None:
        try:
            tokens = insight.tokenize_messages(
                self._chat.client,
                prompt.model,
                prompt.messages,
                chat_template_kwargs=prompt.kwargs,
                tools=prompt.tools,
                token_strs=False,
                timeout=COUNT_TIMEOUT,
            )
            self._counted = (prompt.key, tokens.count)
            self._on_count()
        except ApiError as exc:
            if insight.no_endpoint(exc):
                self._lacking.add(prompt.root)
        except Exception:  # a background nicety: whatever failed, no count (and no trace)
            pass


def _text_only(content: Any) -> bool:
    """Whether a message's content is text alone (a string, or only text parts)."""
    if content is None or isinstance(content, str):
        return True
    return isinstance(content, list) and all(
        isinstance(part, dict) and part.get("type") == "text" for part in content
    )

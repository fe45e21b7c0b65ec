"""One chat kept in the store as it happens: after every turn and every change.

The `Journal` knows which stored chat the session's conversation is, and what of it is
stored; `record()` writes the difference in one transaction. A failure of the store is
said once (per kind of failure) and the chat goes on in memory; the next `record()`
tries again with everything not yet stored. A chat that another vllm-chat wrote to
meanwhile is not overwritten: this one goes on as a copy, and says so.
"""

from __future__ import annotations

import copy
import time
from typing import Any

from vllm_chat.chat.conversation import Message
from vllm_chat.chat.session import Chat
from vllm_chat.store.chats import ChatChanged, ChatMeta, ChatStore, StoreError, new_id, title_of

RESUME_SHOWN = 3  # exchanges reprinted when a chat is resumed in the REPL


class Journal:
    """The stored side of one session's chat; `store` None keeps nothing (--private)."""

    def __init__(self, chat: Chat, store: ChatStore | None, url: str) -> None:
        self.chat = chat
        self.store = store
        self.url = url
        self.meta: ChatMeta | None = None
        self._stored: list[Message] = []
        self._snapshot: tuple[Any, ...] | None = None  # the stored chat's url, model, ...
        self._said: set[str] = set()

    def recent_ids(self) -> list[str]:
        """The latest stored chats' ids (none when the store cannot be read)."""
        if self.store is None:
            return []
        try:
            return [meta.id for meta in self.store.recent(50)]
        except StoreError:
            return []

    @property
    def private(self) -> bool:
        return self.store is None

    @property
    def chat_id(self) -> str | None:
        return None if self.meta is None else self.meta.id

    # ---- writing --------------------------------------------------------------------------

    def record(self) -> None:
        """Store what changed since the last record (nothing if nothing did)."""
        if self.store is None:
            return
        messages = self.chat.conversation.messages
        if self.meta is None and not messages:
            return
        meta = self._current_meta()
        if messages == self._stored and not self._meta_changed(meta):
            return
        try:
            try:
                self.store.sync(meta, messages, self._stored, self._stats(messages))
            except ChatChanged:
                old = meta.id
                meta = self._fork_meta(meta)
                self._stored = []
                self.store.sync(meta, messages, [], self._stats(messages))
                self._say(f"chat {old} was changed by another vllm-chat; this one goes on "
                          f"as chat {meta.id}", kind="warn")  # fmt: skip
        except StoreError as exc:
            self._say(self.unusable(exc), kind="warn")
            return
        self.meta = meta
        self._stored = copy.deepcopy(messages)
        self._snapshot = self._meta_fields(meta)

    def unusable(self, error: StoreError, shown: bool = False) -> str:
        """What a store failure means for this chat; `shown`: the caller said it already."""
        text = f"{error}; this chat is kept in memory only, for now"
        if shown:
            self._said.add(text)
        return text

    def start_new(self) -> None:
        """The next turn begins a new chat; the current one stays stored as it is."""
        self.record()
        self.meta = None
        self._stored = []

    def forget_stored(self) -> None:
        """Let go of the stored chat (deleted, or replaced by /load): the next record
        stores the conversation as a new chat."""
        self.meta = None
        self._stored = []

    def rename(self, title: str) -> None:
        if self.meta is None:
            raise StoreError("nothing is stored yet: send a message first")
        assert self.store is not None
        self.store.rename(self.meta.id, title)
        self.meta.title = title

    def fork(self, turns: int | None = None) -> str:
        """Go on in a copy of this chat (its first `turns` turns); the copy's id.

        The original is stored whole first, and stays so.
        """
        self.record()
        if turns is not None:
            messages = self.chat.conversation.messages
            starts = [i for i, m in enumerate(messages) if m.role == "user"]
            if turns < len(starts):
                del messages[starts[turns] :]
        base = self.meta
        self.meta = None if base is None else self._fork_meta(base)
        self._stored = []
        self.record()
        return self.chat_id or ""

    # ---- reading --------------------------------------------------------------------------

    def open(
        self, meta: ChatMeta, *, keep_model: bool = False, store: ChatStore | None = None
    ) -> None:
        """Make the session's conversation the stored chat `meta` (after storing the current).

        `store`: where to read it, when not this journal's own (a private run reads only).
        """
        source = store or self.store
        assert source is not None
        self.record()
        messages, _ = source.messages(meta.id)
        conversation = self.chat.conversation
        conversation.messages = messages
        conversation.system_prompt = meta.system_prompt
        if meta.model and not keep_model:
            self.chat.model = meta.model
        self.chat.sampling = {**meta.sampling}
        self.chat.unsent = None
        self.meta = meta
        self._stored = copy.deepcopy(messages)
        self._snapshot = self._meta_fields(meta)

    # ---- helpers --------------------------------------------------------------------------

    def _current_meta(self) -> ChatMeta:
        conversation = self.chat.conversation
        if self.meta is None:
            now = time.time()
            first = next((m.content for m in conversation.messages if m.role == "user"), "")
            meta = ChatMeta(new_id(), title_of(first), now, now)
        else:
            meta = copy.copy(self.meta)
        meta.url = self.url
        meta.model = self.chat.model
        meta.system_prompt = conversation.system_prompt
        meta.sampling = dict(self.chat.sampling)
        return meta

    @staticmethod
    def _meta_fields(meta: ChatMeta) -> tuple[Any, ...]:
        return (meta.url, meta.model, meta.system_prompt, sorted(meta.sampling.items()))

    def _meta_changed(self, meta: ChatMeta) -> bool:
        return self._meta_fields(meta) != self._snapshot

    @staticmethod
    def _fork_meta(meta: ChatMeta) -> ChatMeta:
        now = time.time()
        return ChatMeta(new_id(), meta.title, now, now, meta.url, meta.model,
                        meta.system_prompt, dict(meta.sampling))  # fmt: skip

    def _stats(self, messages: list[Message]) -> dict[int, dict[str, Any]]:
        """The last answer's figures, when it is the one the last turn made."""
        stats = self.chat.last_stats
        if stats is None or not messages or messages[-1].role != "assistant":
            return {}
        if len(messages) <= len(self._stored) and messages[-1] == self._stored[-1]:
            return {}
        figures: dict[str, Any] = {
            "ttft_ms": stats.ttft_ms,
            "tokens_per_second": stats.tokens_per_second,
            "seconds": stats.total_seconds,
            "finish_reason": self.chat.last_finish,
            "interrupted": messages[-1].partial,
        }
        if stats.usage is not None:
            figures["usage"] = {
                "prompt_tokens": stats.usage.prompt_tokens,
                "completion_tokens": stats.usage.completion_tokens,
                "total_tokens": stats.usage.total_tokens,
            }
            if stats.usage.cached_tokens is not None:
                figures["usage"]["cached_tokens"] = stats.usage.cached_tokens
        return {len(messages) - 1: figures}

    def _say(self, text: str, kind: str = "warn") -> None:
        if text not in self._said:
            self._said.add(text)
            self.chat.report(text, kind=kind)

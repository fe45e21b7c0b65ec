"""Which stored chat a run goes on with (`-c`, `-r`), and keeping it in the store.

`keep_in_store` ties a `Chat` to a `Journal` (every turn stored as it ends);
`continue_stored` opens the chat `-c` or `-r` asks for. Exit codes as `app` has them.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from vllm_chat.chat.session import Chat
from vllm_chat.config.settings import Settings

if TYPE_CHECKING:  # imported when used: `-q` loads SQLite only after its answer
    from vllm_chat.store.chats import ChatMeta, ChatStore
    from vllm_chat.store.journal import Journal

EXIT_USAGE = 2


def keep_in_store(chat: Chat, settings: Settings) -> Journal:
    """The chat store's side of `chat`: every turn stored as it ends (nothing if private).

    The database is opened at the first turn's end, after the request was sent.
    """
    from vllm_chat.store.chats import ChatStore
    from vllm_chat.store.journal import Journal

    journal = Journal(chat, None if settings.private else ChatStore(), settings.url)
    chat.after_change = journal.record
    chat.stored_chats = journal.recent_ids
    return journal


def keep_in_store_later(chat: Chat, settings: Settings) -> None:
    """`keep_in_store` at the first turn's end: `-q` loads no SQLite before its request."""

    def first_change() -> None:
        keep_in_store(chat, settings).record()

    chat.after_change = first_change


def close_stores() -> None:
    """Close every chat store this process opened: SQLite folds its write-ahead log into
    the file. Done at a run's end rather than left to the interpreter's last collections,
    which `-q` spares (app.run_quick freezes what it made).
    """
    chats = sys.modules.get("vllm_chat.store.chats")  # not loaded: none was opened
    for store in list(chats.OPEN_STORES) if chats else []:
        store.close()


def continue_stored(
    chat: Chat,
    journal: Journal,
    settings: Settings,
    pick: Callable[[list[ChatMeta]], ChatMeta | None] | None = None,
) -> int | None:
    """`-c`, `-r QUERY` (or `-r` with `pick`): carry on a stored chat; None, or the exit
    code (with one line).

    The flags of this run (model, system prompt, sampling) win over the chat's. A chat
    whose model the server no longer lists goes on with the server's first model.
    """
    if settings.resume is None and not (settings.pick and pick):
        return None
    from vllm_chat.store.chats import ChatStore

    store = journal.store or ChatStore()  # --private reads, and writes nothing
    try:
        return _continue(chat, journal, settings, store, pick)
    finally:
        if store is not journal.store:
            store.close()  # only read: done with


def _continue(
    chat: Chat,
    journal: Journal,
    settings: Settings,
    store: ChatStore,
    pick: Callable[[list[ChatMeta]], ChatMeta | None] | None,
) -> int | None:
    """`continue_stored`, reading from `store`."""
    from vllm_chat.store.chats import StoreError

    query = settings.resume
    try:
        if journal.store is None and not store.path.exists():
            meta = None  # nothing is stored, and --private must not make the file to see it
        elif pick is not None and settings.pick:
            recent = store.recent(500)
            if not recent:
                chat.report("no chats are stored yet: this one is new", kind="info")
                return None
            meta = pick(recent)
            if meta is None:
                chat.report("no chat chosen: this one is new", kind="info")
                return None
        else:
            meta = store.find(query) if query else store.latest()
    except StoreError as exc:
        chat.report(f"{exc}; starting a new chat", kind="warn")
        journal.unusable(exc, shown=True)  # not said again at the first turn's end
        return None
    if meta is None:
        if query:
            chat.report(f"no stored chat matches {query!r}", kind="error")
            return EXIT_USAGE if chat.mode == "quick" else None
        chat.report("no chat to continue yet: this one is new", kind="info")
        return None
    try:
        journal.open(meta, keep_model=bool(settings.model), store=store)
    except StoreError as exc:
        chat.report(f"{exc}; starting a new chat", kind="warn")
        journal.unusable(exc, shown=True)  # not said again at the first turn's end
        return None
    chat.sampling.update(settings.sampling)
    if settings.system_prompt is not None:
        chat.conversation.system_prompt = settings.system_prompt
    _check_stored_model(chat, meta, settings.url)
    return None


def _check_stored_model(chat: Chat, meta: ChatMeta, url: str) -> None:
    """A resumed chat's model the server no longer lists: say so, go on with its first."""
    from vllm_chat.client.errors import ApiError

    if not chat.model or chat.model != meta.model:
        return
    try:
        names = chat.model_ids()
    except ApiError:
        return  # the turn will say what is wrong with the server
    if chat.model not in names:
        chat.report(
            f"model {chat.model} of chat {meta.id} is not on {url}; going on with "
            f"{names[0] if names else 'the first model it lists'}",
            kind="warn",
        )
        chat.model = None

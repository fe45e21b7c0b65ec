"""The chat store: /chats /open /new /rename /fork /delete."""

from __future__ import annotations

import datetime
import time

from vllm_chat.chat.session import Chat
from vllm_chat.repl.commands.registry import Context, UsageError, command, counted
from vllm_chat.store.chats import ChatMeta
from vllm_chat.store.journal import Journal

LISTED = 20


def _journal(ctx: Context) -> Journal:
    journal = ctx.journal
    if journal is None or journal.store is None:
        raise UsageError("this run keeps no chats (--private)")
    return journal


def age(when: float) -> str:
    seconds = max(0, time.time() - when)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size:.0f} {unit} ago"
    return "just now"


def describe(meta: ChatMeta, current: str | None = None) -> str:
    """`* 3f2a9c1b0d4e  2 h ago  model · 4 turns  title`."""
    mark = "*" if meta.id == current else " "
    stamp = datetime.datetime.fromtimestamp(meta.updated).strftime("%Y-%m-%d %H:%M")
    line = f"{mark} {meta.id}  {stamp} ({age(meta.updated)})  {meta.model or '?'} · "
    line += f"{counted(meta.turns, 'turn')}  {meta.title}"
    return line + (f"\n      {meta.snippet}" if meta.snippet else "")


@command("chats", "list the stored chats, or search their messages", usage="/chats [WORDS]")
def chats_command(ctx: Context, arg: str) -> None:
    journal = _journal(ctx)
    assert journal.store is not None
    found = journal.store.search(arg, LISTED) if arg else journal.store.recent(LISTED)
    if not found:
        ctx.say(f"no stored chat holds {arg!r}" if arg else "no chats are stored yet")
        return
    for meta in found:
        ctx.say(describe(meta, journal.chat_id))


def _find(journal: Journal, query: str) -> ChatMeta:
    assert journal.store is not None
    meta = journal.store.find(query)
    if meta is None:
        raise UsageError(f"no stored chat matches {query!r} (/chats lists them)")
    return meta


def _chat_ids(chat: Chat) -> list[str]:
    return chat.stored_chats()


@command("open", "switch to a stored chat", usage="/open ID|WORDS", arguments=_chat_ids)
def open_command(ctx: Context, arg: str) -> None:
    if not arg:
        raise UsageError("usage: /open ID|WORDS (/chats lists the chats)")
    journal = _journal(ctx)
    meta = _find(journal, arg)
    journal.open(meta)
    ctx.say(f"chat {meta.id}: {meta.title} ({counted(meta.turns, 'turn')}, model {meta.model})")
    show_last(ctx)


def show_last(ctx: Context, exchanges: int = 3) -> None:
    """The last few exchanges of the chat, as /history shows them."""
    from vllm_chat.repl.commands.conversation import history_command

    history_command(ctx, str(exchanges))


@command("new", "start a new chat (the current one stays stored)")
def new_command(ctx: Context, arg: str) -> None:
    journal = _journal(ctx)
    journal.start_new()
    ctx.chat.reset()
    ctx.say("a new chat: the next message starts it")


@command("rename", "give the current chat a title", usage="/rename TITLE")
def rename_command(ctx: Context, arg: str) -> None:
    if not arg:
        raise UsageError("usage: /rename TITLE")
    journal = _journal(ctx)
    journal.record()
    journal.rename(" ".join(arg.split()))
    ctx.say(f"chat {journal.chat_id} is now: {' '.join(arg.split())}")


@command("fork", "go on in a copy of this chat (up to turn N)", usage="/fork [N]")
def fork_command(ctx: Context, arg: str) -> None:
    journal = _journal(ctx)
    turns = None
    if arg:
        if not arg.isdigit() or int(arg) < 1:
            raise UsageError("usage: /fork [N], N a turn number from 1")
        turns = int(arg)
        if turns > ctx.chat.conversation.turns:
            raise UsageError(f"the chat has {counted(ctx.chat.conversation.turns, 'turn')}")
    old = journal.chat_id
    if old is None and not ctx.chat.conversation.messages:
        raise UsageError("nothing to fork yet: send a message first")
    new = journal.fork(turns)
    kept = counted(ctx.chat.conversation.turns, "turn")
    ctx.say(f"forked chat {old} into {new} ({kept}); the original stays as it was")


@command(
    "delete", "delete a stored chat (asks first)", usage="/delete [ID]", arguments=_chat_ids
)
def delete_command(ctx: Context, arg: str) -> None:
    journal = _journal(ctx)
    assert journal.store is not None
    meta = _find(journal, arg) if arg else None
    if meta is None:
        if journal.chat_id is None:
            raise UsageError("this chat is not stored yet; /delete ID deletes another")
        meta = _find(journal, journal.chat_id)
    question = f"delete chat {meta.id} ({meta.title}, {counted(meta.turns, 'turn')})? [y/N] "
    if ctx.confirm is None or not ctx.confirm(question):
        ctx.say("nothing deleted")
        return
    journal.store.delete(meta.id)
    if meta.id == journal.chat_id:  # its conversation goes too, or it would be stored again
        journal.forget_stored()
        ctx.chat.reset()
        ctx.say(f"deleted chat {meta.id}; the next message starts a new one")
        return
    ctx.say(f"deleted chat {meta.id}")

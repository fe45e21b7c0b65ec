"""Saved chats: /save, /save!, /load, and `apply_saved` (which `--load` uses too)."""

from __future__ import annotations

from pathlib import Path

from vllm_chat.chat.session import Chat, UnknownModel
from vllm_chat.config.sampling import misplaced, problem
from vllm_chat.repl.commands.registry import Context, UsageError, command, counted
from vllm_chat.store import saved
from vllm_chat.store.saved import SavedChat


def _chat_files(chat: Chat) -> list[str]:
    folder = saved.chats_dir()
    try:
        return sorted(path.stem for path in folder.glob("*.json"))
    except OSError:
        return []


@command(
    "save",
    "save the chat to a file (default: a new file in the chats folder)",
    usage="/save [PATH]",
    takes_path=True,
)
def save_command(ctx: Context, arg: str) -> None:
    """Save to `arg` (asking before replacing a file), or to a new file in the chats folder."""
    path = saved.resolve(arg or None)
    asking = ctx.confirm or (lambda question: False)  # nobody to ask: no
    if path.is_file() and not asking(f"{path} exists; replace it? [y/N] "):
        ctx.say(f"not saved: {path} exists (/save! {arg} replaces it without asking)")
        return
    _save(ctx, path)


@command(
    "save!",
    "save the chat, replacing an existing file without asking",
    usage="/save! PATH",
    takes_path=True,
)
def save_over_command(ctx: Context, arg: str) -> None:
    """Save to `arg`, replacing it if it exists."""
    if not arg:
        raise UsageError("usage: /save! PATH (/save alone always writes a new file)")
    _save(ctx, saved.resolve(arg))


def _save(ctx: Context, path: Path) -> None:
    chat = ctx.chat
    chat_state = SavedChat(chat.model, chat.conversation, dict(chat.sampling))
    saved.save(chat_state, path, overwrite=True)
    ctx.say(f"saved {counted(chat.conversation.turns, 'turn')} to {path.absolute()}")


@command(
    "load",
    "load a saved chat (it replaces the current one)",
    usage="/load PATH",
    arguments=_chat_files,
    takes_path=True,
)
def load_command(ctx: Context, arg: str) -> None:
    """Replace the chat by a saved one; a bad file changes nothing."""
    if not arg:
        raise UsageError(f"usage: /load PATH (saved chats are in {saved.chats_dir()})")
    path = saved.locate(arg)  # the file as named, else the one in the chats folder
    loaded = saved.load(path)  # raises before anything changes
    if ctx.journal is not None:
        ctx.journal.record()  # the current chat is stored as it is
    apply_saved(ctx.chat, loaded)
    if ctx.journal is not None:
        ctx.journal.forget_stored()  # the loaded chat is stored as a new one
    dropped = ctx.chat.attachments.clear()
    ctx.say(
        f"loaded {counted(loaded.conversation.turns, 'turn')} from {path.absolute()}"
        + (f" · model {loaded.model}" if loaded.model else "")
        + (f" · {counted(dropped, 'attachment')} dropped" if dropped else "")
    )


def apply_saved(chat: Chat, loaded: SavedChat) -> None:
    """Make a loaded chat the current one.

    Its model goes through `Chat.switch_model`, as `/model NAME` does: one the
    server does not list is refused (`UnknownModel`) before anything changes.
    """
    if loaded.model:
        try:
            chat.switch_model(loaded.model)
        except UnknownModel as exc:
            raise UnknownModel(exc.name, exc.names, exc.url, loading=True) from None
    chat.conversation = loaded.conversation
    chat.sampling = _sendable(chat, loaded.sampling)
    chat.unsent = None
    chat.context_tokens = None


def _sendable(chat: Chat, values: dict[str, object]) -> dict[str, object]:
    """The saved settings that can be sent; each of the others refused in one line."""
    kept = {}
    for name, value in values.items():
        refused = misplaced(name, "chat") or problem(name, value)
        if refused:
            chat.report(f"the saved chat's {refused}; not applied", kind="warn")
        else:
            kept[name] = value
    return kept


@command(
    "export",
    "write the chat as Markdown (to a file, or - for the screen)",
    usage="/export [PATH|-]",
    takes_path=True,
)
def export_command(ctx: Context, arg: str) -> None:
    """The chat as Markdown: to `arg`, to stdout for `-`, else a new file in the chats folder."""
    from vllm_chat.store.chats import title_of
    from vllm_chat.store.export import markdown

    chat = ctx.chat
    first = next((m.content for m in chat.conversation.messages if m.role == "user"), "")
    journal = ctx.journal
    meta = journal.meta if journal is not None else None
    text = markdown(
        chat.conversation,
        title=meta.title if meta else title_of(first),
        model=chat.model,
        url=chat.client.base_url,
        chat_id=meta.id if meta else None,
    )
    if arg == "-":
        ctx.say(text.rstrip("\n"))
        return
    path = saved.resolve(arg or None).with_suffix(".md")
    asking = ctx.confirm or (lambda question: False)
    if path.is_file() and not asking(f"{path} exists; replace it? [y/N] "):
        ctx.say(f"not exported: {path} exists")
        return
    saved.write_private(path, text.encode("utf-8"), overwrite=True, again="/export")
    ctx.say(f"exported {counted(chat.conversation.turns, 'turn')} as Markdown to {path.absolute()}")


"""Slash commands: one small function each, found through a registry."""

from __future__ import annotations

import contextlib
import difflib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from vllm_chat.chat.attachments import (
    Attachment,
    AttachmentError,
    file_attachment,
    image_attachment,
    text_of,
    with_text,
)
from vllm_chat.chat.session import Chat
from vllm_chat.client.api import ApiError
from vllm_chat.config.defaults import KEY_ORIGINS, RESERVED_BODY_KEYS, THINK_MODES
from vllm_chat.config.sampling import misplaced, problem
from vllm_chat.config.settings import key_is_sendable, key_sent_in_clear, url_problem
from vllm_chat.repl.clipboard import code_blocks, osc52
from vllm_chat.repl.editor import EditorError, edit
from vllm_chat.store import saved
from vllm_chat.store.saved import SavedChat, SavedChatError


class ExitRequested(Exception):
    """`/exit` or `/quit`: leave the REPL."""


class UsageError(Exception):
    """A command given the wrong arguments; `str()` says how to use it."""


@dataclass
class Context:
    """What a command may use: the chat, and `say` to show its output."""

    chat: Chat
    say: Callable[[str], None]
    error: Callable[[str], None]
    history_file: Path | None = None
    # Shows Markdown as answers are shown (rendered on a terminal).
    show_markdown: Callable[[str], None] | None = None
    # Where terminal-only output (the OSC 52 clipboard sequence) goes; None: no terminal.
    terminal: TextIO | None = None
    # Asks a yes/no question (True: yes); None: nobody to ask, so the answer is no.
    confirm: Callable[[str], bool] | None = None
    # Reads a line without showing it (an API key), kept out of every history; None: no one.
    read_secret: Callable[[str], str] | None = None


def counted(count: int, word: str) -> str:
    """`1 turn`, `2 turns`, `0 files`: a number and its word, as a sentence needs it."""
    return f"{count:,} {word if count == 1 else word + 's'}"


Handler = Callable[[Context, str], None]


@dataclass(frozen=True)
class Command:
    name: str
    handler: Handler
    summary: str
    usage: str = ""
    aliases: tuple[str, ...] = ()
    # Candidates for the argument, for Tab completion.
    arguments: Callable[[Chat], Iterable[str]] | None = None
    takes_path: bool = False  # Tab completes file names


COMMANDS: dict[str, Command] = {}  # every name and alias -> its command


def command(
    name: str,
    summary: str,
    *,
    usage: str = "",
    aliases: tuple[str, ...] = (),
    arguments: Callable[[Chat], Iterable[str]] | None = None,
    takes_path: bool = False,
) -> Callable[[Handler], Handler]:
    """Register the decorated function as `/name`."""

    def register(handler: Handler) -> Handler:
        usage_text = usage or f"/{name}"
        entry = Command(name, handler, summary, usage_text, aliases, arguments, takes_path)
        for key in (name, *aliases):
            COMMANDS[key] = entry
        return handler

    return register


def unique_commands() -> list[Command]:
    seen: dict[str, Command] = {}
    for entry in COMMANDS.values():
        seen.setdefault(entry.name, entry)
    return list(seen.values())


def parse(line: str) -> tuple[str, str] | None:
    """`("model", "llama")` for "/model llama"; None for a message.

    A line starting with `//` is a message that starts with `/`.
    """
    stripped = line.strip()
    if not stripped.startswith("/") or stripped.startswith("//"):
        return None
    name, _, arg = stripped[1:].partition(" ")
    return name.lower(), arg.strip()


def message_text(line: str) -> str:
    """The message a non-command line sends: `//x` sends `/x`."""
    return line.strip()[1:] if line.strip().startswith("//") else line


def run(ctx: Context, name: str, arg: str) -> None:
    """Run `/name arg`; an unknown name gets a suggestion, never a crash."""
    entry = COMMANDS.get(name)
    if entry is None:
        close = difflib.get_close_matches(name, COMMANDS, n=1, cutoff=0.5)
        hint = f"; did you mean /{close[0]}?" if close else ""
        ctx.error(f"unknown command /{name}{hint} (/help lists them; // starts a message with /)")
        return
    try:
        entry.handler(ctx, arg)
    except (ApiError, AttachmentError, EditorError, SavedChatError, UsageError) as exc:
        ctx.error(str(exc))


def _command_names(chat: Chat) -> list[str]:
    return sorted(entry.name for entry in unique_commands())


def _model_names(chat: Chat) -> list[str]:
    return chat.model_ids()


@command(
    "help",
    "show the commands, or one command's help",
    usage="/help [COMMAND]",
    arguments=_command_names,
)
def help_command(ctx: Context, arg: str) -> None:
    if arg:
        entry = COMMANDS.get(arg.lstrip("/").lower())
        if entry is None:
            run(ctx, arg.lstrip("/").lower(), "")  # same "unknown command" message
            return
        aliases = f"  (also /{', /'.join(entry.aliases)})" if entry.aliases else ""
        ctx.say(f"{entry.usage}{aliases}\n  {entry.summary}")
        return
    width = max(len(entry.usage) for entry in unique_commands())
    lines = ["Commands:"]
    for entry in unique_commands():
        aliases = f" (also /{', /'.join(entry.aliases)})" if entry.aliases else ""
        lines.append(f"  {entry.usage:<{width}}  {entry.summary}{aliases}")
    lines += [
        "",
        'Keys: Enter sends · Alt-Enter or Ctrl-J adds a line · """ opens and closes a block',
        "      Up/Down and Ctrl-R search history · Ctrl-C clears the line · Ctrl-D quits",
        "A line starting with // sends a message starting with /.",
    ]
    ctx.say("\n".join(lines))


@command("system", "show, set or clear the system prompt", usage="/system [TEXT|clear]")
def system_command(ctx: Context, arg: str) -> None:
    conversation = ctx.chat.conversation
    if not arg:
        prompt = conversation.system_prompt
        ctx.say(f"system prompt: {prompt}" if prompt else "no system prompt is set")
    elif arg.lower() == "clear":
        conversation.system_prompt = None
        ctx.say("system prompt cleared")
    else:
        conversation.system_prompt = arg
        ctx.say("system prompt set")


@command(
    "model",
    "list the server's models, or switch to one",
    usage="/model [NAME]",
    arguments=_model_names,
)
def model_command(ctx: Context, arg: str) -> None:
    chat = ctx.chat
    names = [model.id for model in chat.models(refresh=True)]
    if not arg:
        if not names:
            ctx.say("the server lists no models")
        for name in names:
            ctx.say(f"{'*' if name == chat.model else ' '} {name}")
        return
    if arg not in names:
        close = difflib.get_close_matches(arg, names, n=1, cutoff=0.4)
        hint = f"; did you mean {close[0]}?" if close else ""
        ctx.error(f"unknown model {arg!r}{hint} (the server has: {', '.join(names) or 'none'})")
        return
    chat.switch_model(arg)
    ctx.say(f"model: {arg}")


@command(
    "reset",
    "forget the conversation and any attachments (the system prompt stays)",
    aliases=("clear",),
)
def reset_command(ctx: Context, arg: str) -> None:
    turns = ctx.chat.conversation.turns
    dropped = ctx.chat.reset()
    detached = f", {counted(dropped, 'attachment')} dropped" if dropped else ""
    ctx.say(f"conversation cleared ({counted(turns, 'turn')} forgotten{detached})")


@command("exit", "leave vllm-chat (Ctrl-D too)", aliases=("quit",))
def exit_command(ctx: Context, arg: str) -> None:
    raise ExitRequested


# ---- conversation control ------------------------------------------------------------------


@command("retry", "send the last message again, replacing its answer")
def retry_command(ctx: Context, arg: str) -> None:
    _send_again(ctx, ctx.chat.retry)


@command("undo", "forget the last message and its answer")
def undo_command(ctx: Context, arg: str) -> None:
    removed = ctx.chat.undo()
    ctx.say("removed the last exchange" if removed else "nothing to undo")


@command("edit", "edit the last message in $EDITOR and send it again")
def edit_command(ctx: Context, arg: str) -> None:
    content = ctx.chat.last_user_content()
    if content is None:
        raise UsageError("there is no message to edit yet")
    edited = edit(text_of(content)).strip()
    if not edited:
        ctx.say("the edited message is empty; nothing sent")
        return
    _send_again(ctx, lambda: ctx.chat.resend(lambda old: with_text(old, edited)))


def _send_again(ctx: Context, send: Callable[[], object]) -> None:
    with contextlib.suppress(KeyboardInterrupt):  # the answer was marked [interrupted]
        send()


@command("history", "show the conversation so far, with turn numbers")
def history_command(ctx: Context, arg: str) -> None:
    conversation = ctx.chat.conversation
    if conversation.system_prompt:
        ctx.say(f"── system ──\n{conversation.system_prompt}")
    if not conversation.messages:
        ctx.say("the conversation is empty")
    turn = 0
    for message in conversation.messages:
        if message.role == "user":
            turn += 1
            ctx.say(f"── {turn} · you ──\n{text_of(message.content)}")
            continue
        partial = " (partial)" if message.partial else ""
        ctx.say(f"── {turn} · {ctx.chat.model or 'assistant'}{partial} ──")
        (ctx.show_markdown or ctx.say)(message.content)


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
    if not arg:
        raise UsageError(f"usage: /load PATH (saved chats are in {saved.chats_dir()})")
    path = saved.locate(arg)  # the file as named, else the one in the chats folder
    loaded = saved.load(path)  # raises before anything changes
    dropped = ctx.chat.attachments.clear()
    apply_saved(ctx.chat, loaded)
    ctx.say(
        f"loaded {counted(loaded.conversation.turns, 'turn')} from {path.absolute()}"
        + (f" · model {loaded.model}" if loaded.model else "")
        + (f" · {counted(dropped, 'attachment')} dropped" if dropped else "")
    )


def apply_saved(chat: Chat, loaded: SavedChat) -> None:
    """Make a loaded chat the current one."""
    chat.conversation = loaded.conversation
    chat.sampling = _sendable(chat, loaded.sampling)
    chat.unsent = None
    chat.context_tokens = None
    if loaded.model:
        chat.model = loaded.model


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


# ---- live settings ---------------------------------------------------------------------------

SAMPLING_NAMES = (
    "temperature", "top_p", "top_k", "min_p", "max_tokens", "min_tokens", "seed", "stop",
    "presence_penalty", "frequency_penalty", "repetition_penalty", "length_penalty",
    "chat_template_kwargs", "logit_bias", "ignore_eos", "skip_special_tokens",
    "include_stop_str_in_output", "stop_token_ids", "n",
)  # fmt: skip


def _setting_names(chat: Chat) -> list[str]:
    return sorted(set(SAMPLING_NAMES) | set(chat.sampling))


def parse_value(text: str) -> object:
    """JSON when it parses (numbers, lists, objects, true), else the text itself."""
    try:
        return json.loads(text)
    except ValueError:
        return text


@command(
    "set",
    "set a request parameter (sent with every message)",
    usage="/set NAME VALUE",
    arguments=_setting_names,
)
def set_command(ctx: Context, arg: str) -> None:
    name, _, value = arg.partition(" ")
    if not name or not value.strip():
        raise UsageError(
            "usage: /set NAME VALUE, e.g. /set temperature 0.2 "
            'or /set chat_template_kwargs {"enable_thinking": false}'
        )
    if name in RESERVED_BODY_KEYS:
        raise UsageError(f"{name} is set by vllm-chat itself (use /model to change the model)")
    parsed = parse_value(value.strip())
    refused = misplaced(name, "chat") or problem(name, parsed)
    if refused:
        raise UsageError(f"{refused}; not set")
    ctx.chat.sampling[name] = parsed
    known = "" if name in SAMPLING_NAMES else " (not a parameter vllm-chat knows; sent anyway)"
    ctx.say(f"{name} = {json.dumps(parsed, ensure_ascii=False)}{known}")


@command(
    "unset",
    "stop sending a request parameter",
    usage="/unset NAME",
    arguments=lambda chat: sorted(chat.sampling),
)
def unset_command(ctx: Context, arg: str) -> None:
    if arg not in ctx.chat.sampling:
        raise UsageError(
            f"{arg or 'NAME'} is not set; set: {', '.join(ctx.chat.sampling) or 'nothing'}"
        )
    del ctx.chat.sampling[arg]
    ctx.say(f"{arg} unset (the server's default applies)")


# ---- server and key ------------------------------------------------------------------------

CONNECT_USAGE = "usage: /connect [URL] [--key] (--key reads the key hidden; /key changes only it)"


@command(
    "connect",
    "switch to another server and/or key; the conversation stays",
    usage="/connect [URL] [--key]",
)
def connect_command(ctx: Context, arg: str) -> None:
    words = arg.split()
    rest = [word for word in words if word != "--key"]
    if len(rest) > 1 or any(word.startswith("-") for word in rest):
        raise UsageError(CONNECT_USAGE)
    url = rest[0] if rest else ctx.chat.client.base_url
    why = url_problem(url)
    if why:
        raise UsageError(f"the URL {why}; nothing changed")
    _connect(ctx, url, ask_key="--key" in words)


@command("key", "change the API key (read hidden); the conversation stays", usage="/key")
def key_command(ctx: Context, arg: str) -> None:
    if arg:
        raise UsageError(
            "/key takes no argument: type /key alone, then the key at its hidden prompt "
            "(a line like this one is never written to the history file); nothing changed"
        )
    _connect(ctx, ctx.chat.client.base_url, ask_key=True)


def _read_key(ctx: Context, url: str) -> str | None:
    """The key typed at a hidden prompt; None when none was (Enter alone, Ctrl-C, Ctrl-D)."""
    if ctx.read_secret is None:
        raise UsageError("no terminal to read a key from; pass --api-key or OPENAI_API_KEY")
    try:
        typed = ctx.read_secret(f"API key for {url} (hidden; Enter alone keeps the old one): ")
    except (EOFError, KeyboardInterrupt):
        return None
    return typed.strip() or None


def _connect(ctx: Context, url: str, *, ask_key: bool) -> None:
    """Use `url` (and a new key, when asked), list its models; the conversation stays."""
    chat, client = ctx.chat, ctx.chat.client
    key = _read_key(ctx, url) if ask_key else None
    if ask_key and key is None:
        ctx.say("no key typed; nothing changed")
        return
    if not key_is_sendable(key):
        raise UsageError("the key contains control characters (not shown); nothing changed")
    client.switch(url, api_key=key, api_key_source="typed" if key else None)
    chat.server_changed()
    has_key = client.api_key_source != "none"
    if key_sent_in_clear(url, "key" if has_key else None):
        chat.report(
            f"the API key goes to {url} unencrypted (plain http); "
            "use https:// for a server on another machine",
            kind="warn",
        )
    kept = f"the conversation is kept ({counted(chat.conversation.turns, 'turn')})"
    if chat.unsent is not None:
        kept += "; /retry sends the failed message again"
    changed = "key changed · " if key else ""
    try:
        names = [model.id for model in chat.models(refresh=True)]
    except ApiError as exc:
        ctx.error(str(exc))
        ctx.say(f"now using {client.base_url} · {changed}{kept}; /connect tries again")
        return
    ctx.say(f"connected to {client.base_url} · {changed}{kept}")
    if chat.model is None and names:
        chat.switch_model(names[0])
    elif chat.model is not None and chat.model not in names:
        offers = ", ".join(names) or "no models"
        ctx.error(
            f"model {chat.model} is not on {client.base_url}, which has: {offers}; "
            "/model NAME switches"
        )
        return
    if chat.model:
        ctx.say(f"model: {chat.model}")


@command("settings", "show the server, model, prompt and every setting")
def settings_command(ctx: Context, arg: str) -> None:
    chat = ctx.chat
    client = chat.client
    origin = KEY_ORIGINS.get(client.api_key_source)
    key = f"set, from {origin} (hidden)" if origin else "none (Bearer EMPTY)"
    rows = [
        ("url", client.base_url),
        ("model", chat.model or "(the server's first)"),
        ("api key", key),
        ("system prompt", chat.conversation.system_prompt or "(none)"),
        ("stats", "on" if chat.stats else "off"),
        ("think", chat.think),
        ("history", str(ctx.history_file) if ctx.history_file else "off"),
        ("turns", str(chat.conversation.turns)),
    ]
    rows += [(name, json.dumps(value, ensure_ascii=False)) for name, value in chat.sampling.items()]
    if not chat.sampling:
        rows.append(("sampling", "(server defaults)"))
    width = max(len(name) for name, _ in rows)
    ctx.say("\n".join(f"{name:<{width}}  {value}" for name, value in rows))


def _on_off(chat: Chat) -> list[str]:
    return ["on", "off"]


@command(
    "stats",
    "show or hide timing and token counts after answers",
    usage="/stats [on|off]",
    arguments=_on_off,
)
def stats_command(ctx: Context, arg: str) -> None:
    if arg not in ("", "on", "off"):
        raise UsageError("usage: /stats [on|off]")
    chat = ctx.chat
    chat.stats = (not chat.stats) if not arg else arg == "on"
    ctx.say(f"stats {'on' if chat.stats else 'off'}")
    if chat.stats and chat.last_stats is not None and chat.last_stats.ended is not None:
        ctx.say(f"last answer: {chat.last_stats.line()}")


@command(
    "think",
    "show, hide or fold a reasoning model's thinking",
    usage="/think show|hide|collapse",
    arguments=lambda chat: list(THINK_MODES),
)
def think_command(ctx: Context, arg: str) -> None:
    if not arg:
        ctx.say(f"think: {ctx.chat.think}")
        return
    if arg not in THINK_MODES:
        raise UsageError("usage: /think show|hide|collapse")
    ctx.chat.think = arg
    ctx.say(f"think: {arg}")


# ---- attachments ----------------------------------------------------------------------------


@command("file", "attach a text file to the next message", usage="/file PATH", takes_path=True)
def file_command(ctx: Context, arg: str) -> None:
    if not arg:
        raise UsageError("usage: /file PATH")
    _attach(ctx, file_attachment(Path(arg).expanduser()))


@command(
    "image",
    "attach an image (file or URL) to the next message",
    usage="/image PATH_OR_URL",
    takes_path=True,
)
def image_command(ctx: Context, arg: str) -> None:
    if not arg:
        raise UsageError("usage: /image PATH_OR_URL")
    _attach(ctx, image_attachment(arg))


def _attach(ctx: Context, item: Attachment) -> None:
    what = f"image {item.name}" if item.kind == "image" else item.name
    size = "" if item.size is None else f" ({item.describe_size()})"
    if ctx.chat.attachments.add(item):
        ctx.say(f"attached {what}{size} to the next message")
    else:
        ctx.say(f"{what} is already attached; kept one copy{size}")


@command("attachments", "list what is attached to the next message, with sizes")
def attachments_command(ctx: Context, arg: str) -> None:
    items = ctx.chat.attachments.items
    if not items:
        ctx.say("nothing is attached (/file PATH or /image PATH_OR_URL attaches)")
        return
    width = max(len(item.name) for item in items)
    lines = [f"{counted(len(items), 'attachment')} for the next message:"]
    for number, item in enumerate(items, 1):
        lines.append(f"  {number}  {item.kind:<5}  {item.name:<{width}}  {item.describe_size()}")
    ctx.say("\n".join(lines))


@command(
    "detach",
    "drop one attachment (N, as /attachments numbers them) or all of them",
    usage="/detach [N]",
)
def detach_command(ctx: Context, arg: str) -> None:
    attachments = ctx.chat.attachments
    if not attachments:
        ctx.say("nothing is attached")
        return
    if not arg:
        ctx.say(f"detached {counted(attachments.clear(), 'attachment')}")
        return
    count = len(attachments)
    if not arg.isdigit() or not 1 <= int(arg) <= count:
        span = "/detach 1" if count == 1 else f"/detach 1..{count}"
        raise UsageError(f"{span}, or /detach alone for all (see /attachments)")
    item = attachments.remove(int(arg))
    left = len(attachments)
    ctx.say(f"detached {item.name} ({counted(left, 'attachment')} left)")


@command(
    "copy",
    "copy the last answer, or its N-th code block, to the clipboard",
    usage="/copy [N]",
)
def copy_command(ctx: Context, arg: str) -> None:
    answer = ctx.chat.conversation.last_answer()
    if answer is None:
        raise UsageError("there is no answer to copy yet")
    text, what = text_of(answer.content), "the last answer"
    if arg:
        blocks = code_blocks(text)
        if not arg.isdigit() or not 1 <= int(arg) <= len(blocks):
            span = "/copy 1" if len(blocks) == 1 else f"/copy 1..{len(blocks)}"
            raise UsageError(
                f"the last answer has {counted(len(blocks), 'code block')}; {span}"
                if blocks
                else "the last answer has no code block"
            )
        text, what = blocks[int(arg) - 1], f"code block {arg}"
    if ctx.terminal is None:
        raise UsageError("/copy needs a terminal (it asks the terminal to set the clipboard)")
    ctx.terminal.write(osc52(text))
    ctx.terminal.flush()
    lines = text.count("\n") + 1
    ctx.say(f"copied {what} ({counted(lines, 'line')}, {counted(len(text), 'character')})")

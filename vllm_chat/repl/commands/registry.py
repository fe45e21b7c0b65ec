"""The one table of slash commands, and the two every session has: /help and /exit."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from vllm_chat.chat.attachments import AttachmentError
from vllm_chat.chat.session import Chat
from vllm_chat.client.errors import ApiError
from vllm_chat.repl.editor import EditorError
from vllm_chat.store.chats import StoreError
from vllm_chat.store.journal import Journal
from vllm_chat.store.saved import SavedChatError


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
    # The chat store's side of this chat (store.journal); None: no store at all.
    journal: Journal | None = None
    # /server's last look at each server's /metrics (by its root URL), for rates since then.
    server_looks: dict[str, object] = field(default_factory=dict)


def counted(count: int, word: str) -> str:
    """`1 turn`, `2 turns`, `0 files`: a number and its word, as a sentence needs it."""
    return f"{count:,} {word if count == 1 else word + 's'}"


Handler = Callable[[Context, str], None]


@dataclass(frozen=True)
class Command:
    """One slash command: its name, what it does, and how Tab completes its argument."""

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
    """Register the decorated function as `/name` (and `/alias` for each alias)."""

    def register(handler: Handler) -> Handler:
        usage_text = usage or f"/{name}"
        entry = Command(name, handler, summary, usage_text, aliases, arguments, takes_path)
        for key in (name, *aliases):
            if key in COMMANDS:
                raise ValueError(f"/{key} is registered twice")
            COMMANDS[key] = entry
        return handler

    return register


def unique_commands() -> list[Command]:
    """Every command once, in the one order /help and README.md show them.

    This module's commands first, then each module of the package by name, each
    module's commands in the order they are defined there.
    """
    seen: dict[str, Command] = {}
    for entry in COMMANDS.values():
        seen.setdefault(entry.name, entry)

    def module_rank(entry: Command) -> tuple[bool, str]:
        module = entry.handler.__module__
        return module != __name__, module

    return sorted(seen.values(), key=module_rank)  # stable: definition order within a module


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
    except (
        ApiError, AttachmentError, EditorError, SavedChatError, StoreError, UsageError
    ) as exc:
        ctx.error(str(exc))


def _command_names(chat: Chat) -> list[str]:
    return sorted(entry.name for entry in unique_commands())


@command(
    "help",
    "show the commands, or one command's help",
    usage="/help [COMMAND]",
    arguments=_command_names,
)
def help_command(ctx: Context, arg: str) -> None:
    """List every command with its summary, or show one command's usage."""
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


@command("exit", "leave vllm-chat (Ctrl-D too)", aliases=("quit",))
def exit_command(ctx: Context, arg: str) -> None:
    """Leave the REPL."""
    raise ExitRequested

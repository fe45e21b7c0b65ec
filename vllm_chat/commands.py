"""Slash commands: one small function each, found through a registry."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from vllm_chat.api import ApiError
from vllm_chat.chat import Chat


class ExitRequested(Exception):
    """`/exit` or `/quit`: leave the REPL."""


@dataclass
class Context:
    """What a command may use: the chat, and `say` to show its output."""

    chat: Chat
    say: Callable[[str], None]
    error: Callable[[str], None]


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


COMMANDS: dict[str, Command] = {}  # every name and alias -> its command


def command(
    name: str,
    summary: str,
    *,
    usage: str = "",
    aliases: tuple[str, ...] = (),
    arguments: Callable[[Chat], Iterable[str]] | None = None,
) -> Callable[[Handler], Handler]:
    """Register the decorated function as `/name`."""

    def register(handler: Handler) -> Handler:
        entry = Command(name, handler, summary, usage or f"/{name}", aliases, arguments)
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
    except ApiError as exc:
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
    chat.model = arg
    ctx.say(f"model: {arg}")


@command("reset", "forget the conversation (the system prompt stays)", aliases=("clear",))
def reset_command(ctx: Context, arg: str) -> None:
    turns = ctx.chat.conversation.turns
    ctx.chat.conversation.reset()
    ctx.say(f"conversation cleared ({turns} turn{'s' if turns != 1 else ''} forgotten)")


@command("exit", "leave vllm-chat (Ctrl-D too)", aliases=("quit",))
def exit_command(ctx: Context, arg: str) -> None:
    raise ExitRequested

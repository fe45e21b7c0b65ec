"""Slash commands: one small function each, registered in one table.

`registry` holds the table (`COMMANDS`), `Context`, `parse` and `run`, and /help and
/exit; every other module here holds the commands of one theme: `conversation`,
`model` (model, server, settings), `files`, `server` (/server, /tokens: inside the
server and the model), `transcripts` (saved chats), `version`.
Importing this package imports each of its modules, so a module's `@command`
functions are registered by being in this folder. /help, Tab completion and
README.md's command table all come from that one table, /help and README.md in one
order (`unique_commands()`): /help and /exit, then module by module in name order,
each module's commands as they are defined there.

A new command is one module here (or a function in the module of its theme), its
test, and its row in README.md's "In the chat" table, in /help's order.

Where a command's tests go: tests/repl/test_power.py, typing keys into a real `Repl`
over prompt_toolkit's pipe input, against the stand-in server (tests/standin.py),
checking what the user sees and what the server received. Only what needs a real
terminal (the screen as drawn, a hidden or yes/no prompt of its own) goes to
tests/repl/test_commands_e2e.py, in a pty. That /help, Tab completion and README.md
list every registered command is tested once, from the table, in tests/repl/test_repl.py.
"""

from __future__ import annotations

import importlib
import pkgutil

from vllm_chat.repl.commands.model import parse_value
from vllm_chat.repl.commands.registry import (
    COMMANDS,
    Command,
    Context,
    ExitRequested,
    UsageError,
    command,
    counted,
    message_text,
    parse,
    run,
    unique_commands,
)
from vllm_chat.repl.commands.transcripts import apply_saved

__all__ = [
    "COMMANDS",
    "Command",
    "Context",
    "ExitRequested",
    "UsageError",
    "apply_saved",
    "command",
    "counted",
    "message_text",
    "parse",
    "parse_value",
    "run",
    "unique_commands",
]


def _register_every_module() -> None:
    """Import each module of this package, which registers its commands."""
    for module in sorted(info.name for info in pkgutil.iter_modules(__path__)):
        importlib.import_module(f"{__name__}.{module}")


_register_every_module()

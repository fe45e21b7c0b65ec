"""Command line: the flags, and `main()` (argv -> exit code).

Kept light: `--help` and `--version` import nothing beyond the standard
library (not even the TOML parser: the config file is read after the flags).
What a run does with its settings is `app.py`'s.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from vllm_chat import __version__
from vllm_chat.config.defaults import (
    DEFAULT_CODE_THEME,
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_READ_TIMEOUT,
    DEFAULT_THINK,
    DEFAULT_TOP_LOGPROBS,
    THINK_MODES,
)


def _checked(check: str, *first: str) -> Callable[[str], object]:
    """A flag type: `config.resolve.<check>(*first, text)`, loaded only if the flag is given.

    Its ValueError is the one line argparse prints.
    """

    def parse(text: str) -> object:
        from vllm_chat.config import resolve

        try:
            return getattr(resolve, check)(*first, text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


def build_parser() -> argparse.ArgumentParser:
    """The flags: `vllm chat`'s own (same names and defaults), then ours."""
    parser = argparse.ArgumentParser(
        prog="vllm-chat",
        description="Chat with a vLLM (or any OpenAI-compatible) server from the terminal.",
        epilog="Flags beat the environment, which beats the config file. "
        "In the chat, /help lists the commands. Exit codes: 0 ok, 1 request failed, "
        "2 usage error, 130 interrupted, 141 the output's reader went away.",
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"vllm-chat {__version__}")
    parser.add_argument(
        "--config",
        type=Path,
        metavar="PATH",
        help="read settings from this TOML file "
        "(default: $XDG_CONFIG_HOME/vllm-chat/config.toml, if it exists)",
    )

    server = parser.add_argument_group("server")
    server.add_argument(
        "--url",
        default=None,
        help="base URL of the OpenAI-compatible API "
        "(default: $OPENAI_BASE_URL or http://localhost:8000/v1)",
    )
    server.add_argument(
        "--model-name",
        metavar="NAME",
        help="model to chat with (default: the first model the server lists)",
    )
    server.add_argument(
        "--api-key",
        metavar="KEY",
        help="API key; overrides $OPENAI_API_KEY and the config file (never printed)",
    )
    server.add_argument(
        "--timeout",
        type=_checked("positive_number"),
        metavar="SECONDS",
        help="give up when the server sends nothing for this long "
        f"(default {DEFAULT_READ_TIMEOUT:g})",
    )
    server.add_argument(
        "--connect-timeout",
        type=_checked("positive_number"),
        metavar="SECONDS",
        help="give up connecting to the server after this long "
        f"(default {DEFAULT_CONNECT_TIMEOUT:g})",
    )

    chat = parser.add_argument_group("conversation")
    chat.add_argument("--system-prompt", metavar="TEXT", help="system prompt for the conversation")
    chat.add_argument(
        "-q",
        "--quick",
        metavar="MESSAGE",
        help="send MESSAGE, print the answer and exit; '-' reads the message from stdin, "
        "and piped stdin is appended to MESSAGE",
    )
    chat.add_argument("--load", metavar="PATH", help="resume the chat saved in this file")
    for flags, options, text in (
        (("-c", "--continue"), dict(dest="continue_chat", action="store_true"),
         "continue the most recent chat (with -q: add one turn to it)"),
        (("-r", "--resume"), dict(nargs="?", const="", metavar="QUERY"),
         "continue the chat whose id starts with QUERY, else the best match of its words; "
         "without QUERY, pick one from a list"),
        (("--private",), dict(action="store_true"),
         "keep nothing of this run in the chat store (also VLLM_CHAT_PRIVATE=1)"),
        (("--tools",), dict(metavar="FILE", type=Path),
         "send the tool definitions in this JSON file (a list, OpenAI's format) with each request"),
        (("--tool-choice",), dict(metavar="CHOICE"),
         "auto, none, required, or a tool's name (sent as tool_choice)"),
        (("--stats",), dict(action=argparse.BooleanOptionalAction),
         "print time to first token and tokens/s after answers"),
        (("--logprobs",), dict(nargs="?", const=DEFAULT_TOP_LOGPROBS, metavar="N",
         type=_checked("top_logprobs")), "ask for token probabilities, N alternatives each "
         f"(default {DEFAULT_TOP_LOGPROBS}): tokens coloured by them, /alt lists them"),
        (("--json",), dict(action="store_true"), "with -q: print the answer as one JSON object"),
    ):  # fmt: skip
        chat.add_argument(*flags, help=text, **options)

    display = parser.add_argument_group("display and keys")
    display.add_argument(
        "--think",
        choices=THINK_MODES,
        help=f"show, hide or collapse a reasoning model's thinking (default {DEFAULT_THINK})",
    )
    display.add_argument(
        "--code-theme",
        metavar="NAME",
        help=f"Pygments style for code blocks (default {DEFAULT_CODE_THEME})",
    )
    display.add_argument("--vi", action=argparse.BooleanOptionalAction,
                         help="vi key bindings in the prompt (default: Emacs ones)")  # fmt: skip

    sampling = parser.add_argument_group("sampling")
    for flag, metavar, text in (
        ("--temperature", "T", "sampling temperature"),
        ("--top-p", "P", "nucleus sampling mass"),
        ("--max-tokens", "N", "longest answer, in tokens"),
    ):
        name = flag[2:].replace("-", "_")
        sampling.add_argument(flag, type=_checked("flag_value", name), metavar=metavar, help=text)
    sampling.add_argument(
        "--extra-body",
        type=_checked("extra_body"),
        metavar="JSON",
        help="JSON object merged into every request body, "
        """e.g. '{"top_k": 20, "chat_template_kwargs": {"enable_thinking": false}}'""",
    )

    history = parser.add_argument_group("history")
    history.add_argument("--history-file", type=Path, metavar="PATH",
                         help="prompt history file (default: $XDG_DATA_HOME/vllm-chat/history)")
    history.add_argument("--no-history", action="store_true",
                         help="keep no prompt history on disk (also VLLM_CHAT_NO_HISTORY=1)")
    # fmt: skip
    return parser


def _normalise(argv: list[str], parser: argparse.ArgumentParser) -> list[str]:
    """Accept `--model_name` for `--model-name`, as vLLM's own parser does."""
    known = {option for action in parser._actions for option in action.option_strings}
    out = []
    for arg in argv:
        key, eq, value = arg.partition("=")
        dashed = key.replace("_", "-")
        out.append(dashed + eq + value if key.startswith("--") and dashed in known else arg)
    return out


def _json_error(text: str) -> str:
    import json

    return json.dumps({"error": {"message": text, "type": "UsageError", "status": None}}) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run `vllm-chat` with `argv` (default: the process's); the exit code."""
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else argv
    if "--json" in argv:  # for scripts, a usage error too is a JSON object on stderr
        parser.error = lambda message: parser.exit(2, _json_error(message))  # type: ignore[method-assign]
    args = parser.parse_args(_normalise(argv, parser))
    from vllm_chat import app
    from vllm_chat.config.resolve import ConfigError, SettingsError, resolve
    from vllm_chat.render.text import status_line

    try:
        settings = resolve(args, warn=lambda text: status_line(text, kind="warn"))
    except ConfigError as exc:  # one line: the usage parser.error() adds would not help
        parser.exit(2, _json_error(str(exc)) if args.json else f"{parser.prog}: error: {exc}\n")
    except SettingsError as exc:
        parser.error(str(exc))
    return app.run(settings)

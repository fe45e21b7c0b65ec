"""Command line: flags, the two modes, and errors turned into exit codes.

Kept light: `--help` and `--version` import nothing beyond the standard
library (not even the TOML parser: the config file is read after the flags);
`requests`, `rich` and `prompt_toolkit` load only when a mode needs them.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable
from pathlib import Path

from vllm_chat import __version__
from vllm_chat.config.defaults import (
    DEFAULT_CODE_THEME,
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_READ_TIMEOUT,
    DEFAULT_THINK,
    KEY_ORIGINS,
    RESERVED_BODY_KEYS,
    THINK_MODES,
)

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at start-up
if TYPE_CHECKING:
    from concurrent.futures import Future
    from contextlib import AbstractContextManager
    from typing import TypeVar

    from vllm_chat.chat.session import Chat
    from vllm_chat.config.file import Config
    from vllm_chat.config.settings import Settings
    from vllm_chat.render.plain import Renderer
    from vllm_chat.repl.prompt import Repl

    T = TypeVar("T")

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
EXIT_READER_GONE = 141  # as for a filter killed by SIGPIPE (128 + 13): `yes | head -1`
START_WAIT = 2.0  # seconds the start line waits for the model list before going on


def _sampling(name: str) -> Callable[[str], object]:
    """The flag type of the sampling value `name`: checked as every sampling value is."""

    def parse(text: str) -> object:
        from vllm_chat.config.sampling import flag_value

        try:
            return flag_value(name, text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if value != value or value in (float("inf"), float("-inf")):  # no math import at start-up
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}")
    return value


def _positive_number(text: str) -> float:
    value = _number(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be above 0, got {text}")
    return value


def _json_object(text: str) -> dict[str, object]:
    """--extra-body: a JSON object that can be merged into a request body."""
    import json

    def no_constant(name: str) -> object:
        raise ValueError(f"{name} is not a JSON number")

    try:
        value = json.loads(text, parse_constant=no_constant)
    except ValueError as exc:  # json.JSONDecodeError included
        raise argparse.ArgumentTypeError(f"not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(
            f"expected a JSON object such as '{{\"top_k\": 20}}', got {type(value).__name__}"
        )
    reserved = [key for key in RESERVED_BODY_KEYS if key in value]
    if reserved:
        raise argparse.ArgumentTypeError(f"{reserved[0]!r} is set by vllm-chat itself")
    from vllm_chat.config.sampling import misplaced, problem

    for key, item in value.items():
        refused = misplaced(key, "flag") or problem(key, item)
        if refused:
            raise argparse.ArgumentTypeError(refused)
    return value


def build_parser() -> argparse.ArgumentParser:
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
        type=_positive_number,
        metavar="SECONDS",
        help="give up when the server sends nothing for this long "
        f"(default {DEFAULT_READ_TIMEOUT:g})",
    )
    server.add_argument(
        "--connect-timeout",
        type=_positive_number,
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
    chat.add_argument(
        "--stats",
        action=argparse.BooleanOptionalAction,
        help="print time to first token and tokens/s after answers",
    )

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
    display.add_argument(
        "--vi",
        action=argparse.BooleanOptionalAction,
        help="vi key bindings in the prompt (default: Emacs ones)",
    )

    sampling = parser.add_argument_group("sampling")
    sampling.add_argument(
        "--temperature", type=_sampling("temperature"), metavar="T", help="sampling temperature"
    )
    sampling.add_argument(
        "--top-p", type=_sampling("top_p"), metavar="P", help="nucleus sampling mass"
    )
    sampling.add_argument(
        "--max-tokens", type=_sampling("max_tokens"), metavar="N", help="longest answer, in tokens"
    )
    sampling.add_argument(
        "--extra-body",
        type=_json_object,
        metavar="JSON",
        help="JSON object merged into every request body, "
        """e.g. '{"top_k": 20, "chat_template_kwargs": {"enable_thinking": false}}'""",
    )

    history = parser.add_argument_group("history")
    history.add_argument(
        "--history-file",
        type=Path,
        metavar="PATH",
        help="prompt history file (default: $XDG_DATA_HOME/vllm-chat/history)",
    )
    history.add_argument(
        "--no-history",
        action="store_true",
        help="keep no prompt history on disk (also VLLM_CHAT_NO_HISTORY=1)",
    )
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


def _first(*values: T | None) -> T | None:
    """The first value that is not None: flag, then environment or config, then default."""
    return next((value for value in values if value is not None), None)


def settings_from_args(args: argparse.Namespace, config: Config | None = None) -> Settings:
    """Settings from the flags over the environment over `config` over the defaults."""
    from vllm_chat.config.file import Config, merge_body
    from vllm_chat.config.settings import (
        Settings,
        default_history_file,
        default_url,
        no_history_from_env,
        resolve_api_key,
    )

    config = config or Config()
    api_key, source = resolve_api_key(args.api_key, config.get("api_key"))
    names = ("temperature", "top_p", "max_tokens")
    sampling: dict[str, object] = dict(config.sampling)
    sampling.update((name, config.values[name]) for name in names if name in config.values)
    if args.extra_body:
        sampling = merge_body(sampling, args.extra_body)
    flags = {name: getattr(args, name) for name in names}
    sampling.update((name, value) for name, value in flags.items() if value is not None)
    no_history = _first(
        args.no_history or None, no_history_from_env(), config.get("no_history"), False
    )
    history_file = None
    if not no_history:
        history_file = args.history_file or config.get("history_file") or default_history_file()
    return Settings(
        url=args.url or default_url(config.get("url")),
        model=args.model_name or config.get("model_name"),
        api_key=api_key,
        api_key_source=source,
        system_prompt=_first(args.system_prompt, config.get("system_prompt")),
        quick=args.quick,
        stats=_first(args.stats, config.get("stats"), False),
        sampling=sampling,
        history_file=history_file,
        timeout=_first(args.timeout, config.get("timeout"), DEFAULT_READ_TIMEOUT),
        connect_timeout=_first(
            args.connect_timeout, config.get("connect_timeout"), DEFAULT_CONNECT_TIMEOUT
        ),
        vi=_first(args.vi, config.get("vi"), False),
        think=_first(args.think, config.get("think"), DEFAULT_THINK),
        code_theme=_first(args.code_theme, config.get("code_theme"), DEFAULT_CODE_THEME),
        load=args.load,
        config_file=config.path,
    )


def read_config(args: argparse.Namespace, parser: argparse.ArgumentParser) -> Config:
    """The config file's settings; warnings for what it gets wrong, exit 2 for a bad --config."""
    from vllm_chat.config.file import ConfigError, load
    from vllm_chat.config.settings import code_theme_problem, default_config_file
    from vllm_chat.render.text import status_line

    def warn(text: str) -> None:
        status_line(text, kind="warn")

    explicit = args.config is not None
    path = args.config.expanduser() if explicit else default_config_file()
    try:
        config = load(path, explicit=explicit, warn=warn)
    except ConfigError as exc:
        # One line: the usage parser.error() adds would not help with a file's problem.
        parser.exit(EXIT_USAGE, f"{parser.prog}: error: {exc}\n")
    # Checked here, after the flags, so that only a theme in use costs the Pygments import.
    if args.code_theme is not None:
        problem = code_theme_problem(args.code_theme)
        if problem:
            parser.error(f"--code-theme: {problem}")
    elif "code_theme" in config.values:
        problem = code_theme_problem(config.values["code_theme"])
        if problem:
            warn(f"{config.path}: code_theme: {problem}; ignored")
            del config.values["code_theme"]
    return config


def _stdin_text() -> str | None:
    """Piped or redirected stdin, if any; None when it is a terminal or absent."""
    stream = sys.stdin
    if stream is None or stream.closed:
        return None
    try:
        if stream.isatty():
            return None
        return stream.buffer.read().decode("utf-8", errors="replace")
    except (OSError, ValueError):
        return None


def _quick_message(quick: str | None) -> str | None:
    """The message for single-shot mode, or None for the interactive REPL.

    Piped input loses its final line ends, as `$(cat)` does; the rest is kept as it is.
    """
    piped = _stdin_text()
    piped = None if piped is None else piped.rstrip("\r\n")
    if quick == "-":
        return piped or ""
    if quick is not None:
        return f"{quick}\n\n{piped}" if piped and piped.strip() else quick
    # `echo question | vllm-chat` needs no -q.
    return piped


def make_chat(settings: Settings) -> Chat:
    from vllm_chat.chat.conversation import Conversation
    from vllm_chat.chat.session import Chat
    from vllm_chat.client.api import Client
    from vllm_chat.config.settings import key_sent_in_clear
    from vllm_chat.render.plain import make_renderer
    from vllm_chat.render.text import status_line

    if key_sent_in_clear(settings.url, settings.api_key):
        origin = KEY_ORIGINS.get(settings.api_key_source, "the key")
        if settings.api_key_source == "config":
            origin = f"api_key in {settings.config_file}"
        status_line(
            f"the API key ({origin}) goes to {settings.url} unencrypted "
            "(plain http); use https:// for a server on another machine",
            kind="warn",
        )

    client = Client(
        settings.url,
        settings.api_key,
        api_key_source=settings.api_key_source,
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.timeout,
    )
    return Chat(
        client,
        model=settings.model,
        conversation=Conversation(system_prompt=settings.system_prompt),
        sampling=dict(settings.sampling),
        stats=settings.stats,
        think=settings.think,
        make_renderer=lambda: _quiet_when_reader_gone(
            make_renderer(sys.stdout, sys.stderr, code_theme=settings.code_theme)
        ),
        make_spinner=_spinner_on_a_terminal,
    )


class _ReaderGuard:
    """A renderer that falls silent once the reader of stdout is gone (a closed pipe).

    `| head -1` closing the pipe is no failure: the answer is not marked
    `[incomplete]`, and the `BrokenPipeError` goes on up to `main`.
    """

    def __init__(self, inner: Renderer) -> None:
        self._inner = inner
        self._gone = False

    def feed(self, text: str) -> None:
        self._guarded(self._inner.feed, text)

    def feed_reasoning(self, text: str) -> None:
        self._guarded(self._inner.feed_reasoning, text)

    def end_reasoning(self, summary: str | None = None) -> None:
        self._guarded(self._inner.end_reasoning, summary)

    def finish(self, note: str | None = None) -> None:
        if not self._gone:
            self._guarded(self._inner.finish, note)

    def _guarded(self, call: Callable[..., None], *args: object) -> None:
        try:
            call(*args)
        except BrokenPipeError:
            self._gone = True
            raise


def _quiet_when_reader_gone(renderer: Renderer) -> Renderer:
    return renderer if sys.stdout.isatty() else _ReaderGuard(renderer)


def _own_ctrl_c() -> None:
    """The interactive chat takes Ctrl-C back when started with SIGINT ignored.

    A shell starts background jobs with SIGINT ignored (so do `nohup` and some CI
    runners), and children inherit that. A chat at a terminal is driven by Ctrl-C,
    so it restores Python's handler; `-q` keeps what it inherited, so that a
    script's background job stays immune to a Ctrl-C meant for the foreground.
    """
    import contextlib
    import signal

    with contextlib.suppress(ValueError):  # not the main thread: not ours to change
        if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
            signal.signal(signal.SIGINT, signal.default_int_handler)


def _spinner_on_a_terminal() -> AbstractContextManager[object] | None:
    if not sys.stdout.isatty():
        return None
    from vllm_chat.repl.spinner import Spinner

    return Spinner(sys.stdout).start()


def resume(chat: Chat, settings: Settings) -> bool:
    """`--load PATH`: carry on a saved chat; False (with one line) if it cannot be read.

    What this run sets (model, system prompt, sampling) wins over the file's.
    """
    if settings.load is None:
        return True
    from vllm_chat.render.text import status_line
    from vllm_chat.repl.commands import apply_saved
    from vllm_chat.store.saved import SavedChatError, load, locate

    try:
        loaded = load(locate(settings.load))
    except SavedChatError as exc:
        status_line(str(exc), kind="error")
        return False
    apply_saved(chat, loaded)
    chat.sampling.update(settings.sampling)
    chat.model = settings.model or chat.model
    if settings.system_prompt is not None:
        chat.conversation.system_prompt = settings.system_prompt
    return True


def run_quick(settings: Settings, message: str) -> int:
    from vllm_chat.client.api import ApiError
    from vllm_chat.render.text import status_line

    if not message.strip():
        status_line("nothing to send: the message is empty", kind="error")
        return EXIT_USAGE
    chat = make_chat(settings)
    if not resume(chat, settings):
        return EXIT_USAGE
    try:
        chat.send(message)
    except ApiError as exc:
        status_line(str(exc), kind="error")
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    finally:
        chat.client.close()
    return EXIT_OK


def _in_background(work: Callable[[], object]) -> Future[object]:
    """Run `work` in a daemon thread (quitting never waits for it)."""
    import threading
    from concurrent.futures import Future

    future: Future[object] = Future()

    def run() -> None:
        try:
            future.set_result(work())
        except BaseException as exc:  # handed to whoever waits on the future
            future.set_exception(exc)

    threading.Thread(target=run, daemon=True).start()
    return future


def run_interactive(settings: Settings) -> int:
    from vllm_chat.render.terminal import quiet_input

    _own_ctrl_c()
    # Keys typed before the first prompt wait for it, Enter still meaning "send".
    with quiet_input():
        repl = _start_session(settings)
    if repl is None:
        return EXIT_USAGE
    try:
        return repl.run()
    finally:
        repl.chat.client.close()


def _start_session(settings: Settings) -> Repl | None:
    """The chat, the prompt and the start line; None if `--load` failed."""
    from concurrent.futures import TimeoutError as FutureTimeout  # not the builtin before 3.11

    from vllm_chat.client.api import ApiError
    from vllm_chat.render.text import status_line

    chat = make_chat(settings)
    if not resume(chat, settings):
        return None
    # Ask the server for its models, and load the Markdown renderer, while
    # prompt_toolkit loads and the prompt is built.
    model = _in_background(chat.ensure_model)
    if sys.stdout.isatty():
        _in_background(lambda: importlib.import_module("vllm_chat.render.stream"))
    from vllm_chat.repl.prompt import Repl

    repl = Repl(chat, history_file=settings.history_file, vi=settings.vi)
    repl.follow_model_list(model)
    banner = f"vllm-chat {__version__} · {settings.url}"
    try:
        repl.say(f"{banner} · model {model.result(timeout=START_WAIT)} · /help for commands")
    except ApiError as exc:
        status_line(str(exc), kind="error")
        repl.say(f"{banner} · the next message tries again")
    except FutureTimeout:
        repl.say(f"{banner} · waiting for the server to list its models…")
    repl.say('Alt-Enter or """ for several lines · Ctrl-C stops an answer · Ctrl-D quits')
    return repl


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(_normalise(sys.argv[1:] if argv is None else argv, parser))
    settings = settings_from_args(args, read_config(args, parser))
    from vllm_chat.config.settings import key_is_sendable, url_problem

    if problem := url_problem(settings.url):
        origin = "--url" if args.url is not None else "OPENAI_BASE_URL"
        parser.error(f"{origin} {problem}")

    if not key_is_sendable(settings.api_key):
        origin = KEY_ORIGINS.get(settings.api_key_source, "the API key")
        parser.error(f"the API key ({origin}) contains control characters (not shown)")
    try:
        message = _quick_message(settings.quick)
        if message is not None:
            return run_quick(settings, message)
        return run_interactive(settings)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, with the status a filter
        # killed by SIGPIPE has. Output still buffered goes nowhere at exit.
        import contextlib
        import os

        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_READER_GONE
    except Exception as exc:  # never a traceback; one line says what happened
        from vllm_chat.render.text import status_line, unexpected

        status_line(unexpected(exc), kind="error")
        return EXIT_FAILURE

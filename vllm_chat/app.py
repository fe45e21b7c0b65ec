"""What a run does with its settings: build the chat, then the REPL or one `-q` turn.

Both modes send through the same `Chat.send`: `-q` is one turn of the REPL.
Expected failures become exit codes here, never tracebacks. Kept light:
`requests` loads with the chat, `rich` only for a terminal, `prompt_toolkit`
only for the REPL (`-q` into a pipe loads neither).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import gc
import importlib
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from vllm_chat import __version__
from vllm_chat.config.defaults import KEY_ORIGINS
from vllm_chat.config.settings import Settings, key_sent_in_clear
from vllm_chat.render.environment import Environment
from vllm_chat.render.text import status_line, unexpected

if TYPE_CHECKING:
    from concurrent.futures import Future

    from vllm_chat.chat.session import Chat
    from vllm_chat.render.plain import Renderer
    from vllm_chat.repl.prompt import Repl

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
EXIT_READER_GONE = 141  # as for a filter killed by SIGPIPE (128 + 13): `yes | head -1`
START_WAIT = 2.0  # seconds the start line waits for the model list before going on


def run(settings: Settings, env: Environment | None = None) -> int:
    """Run the mode `settings` ask for (the REPL, or one turn for `-q`); the exit code.

    0 ok, 1 the request or the server failed, 2 usage, 130 interrupted, 141 the
    reader of the output went away.
    """
    env = env or Environment.detect()
    try:
        message = quick_message(settings.quick, env)
        if message is not None:
            return run_quick(settings, message, env)
        return run_interactive(settings, env)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, with the status a filter
        # killed by SIGPIPE has. Output still buffered goes nowhere at exit.
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), env.stdout.fileno())
        return EXIT_READER_GONE
    except Exception as exc:  # never a traceback; one line says what happened
        status_line(unexpected(exc), kind="error", env=env)
        return EXIT_FAILURE


# ---- the message of `-q`, and piped input -----------------------------------------------


def _stdin_text(env: Environment) -> str | None:
    """Piped or redirected stdin, if any; None when it is a terminal or absent."""
    stream = env.stdin
    if stream is None or env.stdin_isatty:
        return None
    try:
        return stream.buffer.read().decode("utf-8", errors="replace")
    except (AttributeError, OSError, ValueError):  # absent, closed or not readable
        return None


def quick_message(quick: str | None, env: Environment) -> str | None:
    """The message for single-shot mode, or None for the interactive REPL.

    Piped input loses its final line ends, as `$(cat)` does; the rest is kept as it is.
    """
    piped = _stdin_text(env)
    piped = None if piped is None else piped.rstrip("\r\n")
    if quick == "-":
        return piped or ""
    if quick is not None:
        return f"{quick}\n\n{piped}" if piped and piped.strip() else quick
    # `echo question | vllm-chat` needs no -q.
    return piped


# ---- the chat -----------------------------------------------------------------------------


def make_chat(settings: Settings, env: Environment | None = None) -> Chat:
    """The chat `settings` describe, showing its answers as `env` allows."""
    from vllm_chat.chat.conversation import Conversation
    from vllm_chat.chat.session import Chat
    from vllm_chat.client.api import Client
    from vllm_chat.render.plain import make_renderer

    env = env or Environment.detect()
    report = functools.partial(status_line, env=env)
    if key_sent_in_clear(settings.url, settings.api_key):
        origin = KEY_ORIGINS.get(settings.api_key_source, "the key")
        if settings.api_key_source == "config":
            origin = f"api_key in {settings.config_file}"
        report(
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

    legend = True  # the token view's, once a run

    def renderer() -> Renderer:
        nonlocal legend
        tokens = chat.logprobs is not None and env.markdown
        made = make_renderer(env, code_theme=settings.code_theme, tokens=tokens,
                             legend=legend and tokens)  # fmt: skip
        legend = legend and not tokens
        return made if env.stdout_isatty else _ReaderGuard(made)

    chat = Chat(
        client,
        model=settings.model,
        conversation=Conversation(system_prompt=settings.system_prompt),
        sampling=dict(settings.sampling),
        stats=settings.stats,
        think=settings.think,
        make_renderer=renderer,
        make_spinner=functools.partial(_spinner, env),
        report=report,
        env=env,
        logprobs=settings.logprobs,
    )
    return chat


class _ReaderGuard:
    """A renderer that falls silent once the reader of stdout is gone (a closed pipe).

    `| head -1` closing the pipe is no failure: the answer is not marked
    `[incomplete]`, and the `BrokenPipeError` goes on up to `run`.
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

    def feed_calls(self, calls: Sequence[Mapping[str, Any]]) -> bool:
        return bool(self._guarded(self._inner.feed_calls, calls))

    def finish(self, note: str | None = None) -> None:
        if not self._gone:
            self._guarded(self._inner.finish, note)

    def _guarded(self, call: Callable[..., Any], *args: object) -> Any:
        try:
            return call(*args)
        except BrokenPipeError:
            self._gone = True
            raise


def _spinner(env: Environment) -> AbstractContextManager[object] | None:
    """A started spinner while the first token is awaited; only on a terminal that can draw."""
    if not env.stdout_isatty or env.dumb:
        return None
    from vllm_chat.repl.spinner import Spinner

    return Spinner(env.stdout).start()


def resume(chat: Chat, settings: Settings) -> int | None:
    """`--load PATH`: carry on a saved chat; None, or the exit code (with one line) if not.

    What this run sets (model, system prompt, sampling) wins over the file's;
    the model is checked as `/model` and `/load` check it.
    """
    if settings.load is None:
        return None
    from vllm_chat.client.errors import ApiError
    from vllm_chat.repl.commands import apply_saved
    from vllm_chat.store.saved import SavedChatError, load, locate

    try:
        loaded = load(locate(settings.load))
    except SavedChatError as exc:
        chat.report(str(exc), kind="error")
        return EXIT_USAGE
    if settings.model:
        loaded = dataclasses.replace(loaded, model=settings.model)
    try:
        apply_saved(chat, loaded)
    except ApiError as exc:  # a model the server does not list
        chat.report(str(exc), kind="error")
        return EXIT_FAILURE
    chat.sampling.update(settings.sampling)
    if settings.system_prompt is not None:
        chat.conversation.system_prompt = settings.system_prompt
    return None


def give_tools(chat: Chat, settings: Settings) -> int | None:
    """`--tools FILE`: the definitions sent with each request; None, or exit 2 (one line)."""
    if settings.tools_file is None:
        return None
    from vllm_chat.chat.tools import ToolsError, load_tools

    try:
        chat.tools = load_tools(settings.tools_file)
    except ToolsError as exc:
        chat.report(str(exc), kind="error")
        return EXIT_USAGE
    return None


# ---- the two modes ------------------------------------------------------------------------


def run_quick(settings: Settings, message: str, env: Environment | None = None) -> int:
    """`-q`: one turn of the REPL, its answer on stdout, anything else on stderr."""
    from vllm_chat.client.errors import ApiError

    env = env or Environment.detect()
    script = None
    if settings.json:  # one JSON object out, on stdout (or on stderr for a failure)
        from vllm_chat.chat.script import JsonScript

        script = JsonScript(env)
    say = script.report if script else functools.partial(status_line, env=env)
    if not message.strip():
        say("nothing to send: the message is empty", kind="error")
        return EXIT_USAGE
    if settings.pick:
        say("-r without QUERY picks from a list in the chat; with -q, give QUERY "
            "(an id, or words of the chat)", kind="error")  # fmt: skip
        return EXIT_USAGE
    chat = make_chat(settings, env)
    chat.mode = "quick"
    if script:
        script.take_over(chat)
    try:
        failed = give_tools(chat, settings) or resume(chat, settings)
        from vllm_chat.store.resume import continue_stored, keep_in_store, keep_in_store_later

        if failed is None and settings.resume is not None:
            failed = continue_stored(chat, keep_in_store(chat, settings), settings)
        elif failed is None:
            keep_in_store_later(chat, settings)
        if failed is not None:
            return failed
        if chat.conversation.pending_tool_calls():  # `-c -q RESULT`: the first waiting call's
            waiting = chat.give_tool_result(message)
            if waiting:
                chat.after_change()
                chat.report(f"{waiting} more tool call(s) wait for a result", kind="info")
                if script:
                    script.write({"tool_calls_waiting": waiting})
                return EXIT_OK
            chat.answer_tools()
        else:
            chat.send(message)
        if script:
            script.answer(chat)
        elif chat.last_tool_calls:  # for scripts: one JSON line per call, to run and answer
            from vllm_chat.chat.tools import call_line

            env.stdout.write("".join(call_line(call) + "\n" for call in chat.last_tool_calls))
            env.stdout.flush()
    except ApiError as exc:
        (script.failure(exc, chat) if script else chat.report(str(exc), kind="error"))
        return EXIT_FAILURE
    except KeyboardInterrupt as exc:
        if script:
            script.failure(exc, chat)
        return EXIT_INTERRUPTED
    finally:
        chat.client.close()
        from vllm_chat.store.resume import close_stores

        close_stores()
        # The process exits next. What the run made lives until then anyway; frozen, it
        # is not walked again by the interpreter's last collections, which would take a
        # sixth of the run's time (issue 17). What must be closed was closed above.
        gc.freeze()
    return EXIT_OK


def run_interactive(settings: Settings, env: Environment | None = None) -> int:
    """The REPL, until Ctrl-D or /exit."""
    from vllm_chat.render.terminal import quiet_input

    env = env or Environment.detect()
    if settings.json:
        status_line("--json goes with -q: it prints one answer as JSON", kind="error", env=env)
        return EXIT_USAGE
    _own_ctrl_c()
    # Keys typed before the first prompt wait for it, Enter still meaning "send".
    with quiet_input(env):
        repl, failed = _start_session(settings, env)
    if repl is None:
        return failed
    try:
        return repl.run()
    finally:
        repl.chat.client.close()


def _own_ctrl_c() -> None:
    """The interactive chat takes Ctrl-C back when started with SIGINT ignored.

    A shell starts background jobs with SIGINT ignored (so do `nohup` and some CI
    runners), and children inherit that. A chat at a terminal is driven by Ctrl-C,
    so it restores Python's handler; `-q` keeps what it inherited, so that a
    script's background job stays immune to a Ctrl-C meant for the foreground.
    """
    import signal

    with contextlib.suppress(ValueError):  # not the main thread: not ours to change
        if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
            signal.signal(signal.SIGINT, signal.default_int_handler)


def _in_background(work: Callable[[], object]) -> Future[object]:
    """Run `work` in a daemon thread (quitting never waits for it)."""
    from concurrent.futures import Future

    future: Future[object] = Future()

    def run() -> None:
        try:
            future.set_result(work())
        except BaseException as exc:  # handed to whoever waits on the future
            future.set_exception(exc)

    threading.Thread(target=run, daemon=True).start()
    return future


def _start_session(settings: Settings, env: Environment) -> tuple[Repl | None, int]:
    """The chat, the prompt and the start line; (None, exit code) if `--load` failed."""
    from concurrent.futures import TimeoutError as FutureTimeout  # not the builtin before 3.11

    from vllm_chat.client.errors import ApiError

    chat = make_chat(settings, env)
    from vllm_chat.store.resume import continue_stored, keep_in_store

    journal = keep_in_store(chat, settings)
    failed = give_tools(chat, settings) or resume(chat, settings)
    if failed is None:
        from vllm_chat.repl.picker import pick_chat

        failed = continue_stored(chat, journal, settings, pick=pick_chat)
    if failed is not None:
        chat.client.close()
        return None, failed
    # Ask the server for its models, and load the Markdown renderer, while
    # prompt_toolkit loads and the prompt is built.
    model = _in_background(chat.ensure_model)
    if env.markdown:
        _in_background(lambda: importlib.import_module("vllm_chat.render.stream"))
    from vllm_chat.repl.prompt import Repl

    repl = Repl(chat, history_file=settings.history_file, vi=settings.vi, journal=journal)
    repl.follow_model_list(model)
    banner = f"vllm-chat {__version__} · {settings.url}"
    try:
        repl.say(f"{banner} · model {model.result(timeout=START_WAIT)} · /help for commands")
    except ApiError as exc:
        chat.report(str(exc), kind="error")
        repl.say(f"{banner} · the next message tries again")
    except FutureTimeout:
        repl.say(f"{banner} · waiting for the server to list its models…")
    repl.say('Alt-Enter or """ for several lines · Ctrl-C stops an answer · Ctrl-D quits')
    if journal.meta is not None:
        repl.show_resumed()
    return repl, EXIT_OK

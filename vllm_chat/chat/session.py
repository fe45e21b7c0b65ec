"""One chat session: the state of the conversation, and `send()` to run a turn.

`Chat` holds what lasts from turn to turn: the client, the model, the
conversation, the request parameters, what the server said about its models.
The act of streaming one answer is a `Turn` (turn.py); `Chat` prepares it and
records its result.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, NoReturn

from vllm_chat.chat.attachments import Attachments
from vllm_chat.chat.conversation import Conversation
from vllm_chat.chat.logprobs import refusal, say_if_ignored
from vllm_chat.chat.probe import ThinkProbe, template_key
from vllm_chat.chat.turn import Turn, TurnResult, TurnStats
from vllm_chat.client.api import Client
from vllm_chat.client.errors import ApiError, HTTPStatusError, StreamError
from vllm_chat.client.events import ModelInfo
from vllm_chat.client.hints import hint
from vllm_chat.render.calls import NOT_JSON, describe_call
from vllm_chat.render.environment import Environment
from vllm_chat.render.plain import PlainRenderer, Renderer
from vllm_chat.render.text import status_line

__all__ = ["Chat", "NoModelError", "NothingToRetry", "TurnStats", "UnknownModel"]


class NoModelError(ApiError):
    """The server lists no model and none was named."""


class NothingToRetry(ApiError):
    """`/retry` or `/edit` with no message sent yet."""


class UnknownModel(ApiError):
    """A model the server does not list: `/model NAME`, `/load` and `--load` refuse it.

    `loading`: the refusal of a saved chat whose model it is (nothing was loaded).
    """

    def __init__(self, name: str, names: list[str], url: str, *, loading: bool = False) -> None:
        if loading:
            text = f"not loaded: model {name} is not on {url}, which has: {_listed(names)}"
        else:
            import difflib  # only for this rare message: -q never loads it

            close = difflib.get_close_matches(name, names, n=1, cutoff=0.4)
            near = f"; did you mean {close[0]}?" if close else ""
            text = f"unknown model {name!r}{near} (the server has: {_listed(names)})"
        super().__init__(text)
        self.name, self.names, self.url = name, names, url


def _limit_hint(server_message: str) -> str | None:
    """Which hint a refusal about the context window needs: fewer answer tokens, or a
    shorter conversation. vLLM names `max_tokens`, or says "you requested N output
    tokens", in the first case ("you requested N tokens (P in the messages, C in the
    completion)" is about both, and the conversation is what grows)."""
    words = server_message.lower()
    if "max_tokens" in words or ("you requested" in words and "output tokens" in words):
        return "max_tokens"
    return "context" if "context" in words else None


def _listed(names: list[str]) -> str:
    return ", ".join(names) or "none"


def plain_to_stdout() -> Renderer:
    """The renderer of a `Chat` that was given none: the answer as text on stdout."""
    return PlainRenderer(sys.stdout, sys.stderr)


@dataclass
class Chat:
    """Model, settings and conversation, and `send()` to run one turn."""

    client: Client
    model: str | None = None
    conversation: Conversation = field(default_factory=Conversation)
    sampling: dict[str, Any] = field(default_factory=dict)
    stats: bool = False
    make_renderer: Callable[[], Renderer] = plain_to_stdout
    make_spinner: Callable[[], AbstractContextManager[object] | None] = lambda: None
    report: Callable[..., None] = status_line
    think: str = "show"  # "show", "hide" or "collapse"
    mode: str = "repl"  # or "quick" (-q): which hints apply (commands or flags)
    env: Environment = field(default_factory=Environment.detect)  # the terminal, decided once
    attachments: Attachments = field(default_factory=Attachments)
    tools: list[dict[str, Any]] | None = None  # tool definitions sent with each request
    # Token probabilities: the alternatives asked for each token (top_logprobs); None: off.
    logprobs: int | None = None
    last_result: TurnResult | None = None  # how the last turn went (`-q --json` prints it)
    said_no_logprobs: bool = False  # the server ignoring logprobs was said once
    # Called after every turn, however it ended, and after commands that change the chat:
    # the session store (store.journal) writes what changed.
    after_change: Callable[[], None] = lambda: None
    # The ids of the stored chats, latest first, for Tab completion (/open, /delete).
    stored_chats: Callable[[], list[str]] = lambda: []
    context_tokens: int | None = None  # prompt + answer of the last turn, from its usage
    unsent: Any = None  # the message of a turn that got no answer, for /retry
    # (model, chat_template_kwargs as JSON) -> does the chat template open <think>?
    # Asked of the server's /tokenize once per key, never guessed from an answer.
    think_templates: dict[tuple[str, str], bool] = field(default_factory=dict)
    _models: list[ModelInfo] | None = None
    _listing_models: bool = False
    _model_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    # ---- the last turn ------------------------------------------------------------------

    @property
    def last_stats(self) -> TurnStats | None:
        return None if self.last_result is None else self.last_result.stats

    @property
    def last_finish(self) -> str | None:
        """The last answer's finish reason."""
        return None if self.last_result is None else self.last_result.finish_reason

    @property
    def last_tool_calls(self) -> list[dict[str, Any]]:
        """The tool calls the last answer made."""
        return [] if self.last_result is None else self.last_result.tool_calls

    # ---- the server's models ------------------------------------------------------------

    def models(self, *, refresh: bool = False) -> list[ModelInfo]:
        """The server's models, fetched once and kept."""
        if self._models is None or refresh:
            self._models = self.client.models()
        return self._models

    def model_ids(self) -> list[str]:
        """The names of the server's models."""
        return [model.id for model in self.models()]

    def ensure_model(self) -> str:
        """The model in use; the server's first model when none was named.

        Safe to call from a background thread at start-up while the first
        message waits for the same answer.
        """
        with self._model_lock:
            if self.model is None:
                models = self.models(refresh=True)
                if not models:
                    raise NoModelError(f"the server at {self.client.base_url} lists no models")
                self.model = models[0].id
            return self.model

    def switch_model(self, name: str) -> None:
        """Use `name` from now on: the one way `/model`, `/load` and `--load` change it.

        A name the server does not list is refused (`UnknownModel`) and nothing
        changes; when the list cannot be had (the server is down), the name is
        taken as given, as `--model-name` is, and the next message tells.
        """
        try:  # the list kept may be old: the server is asked again before a refusal
            listed = name in self.model_ids() or name in (m.id for m in self.models(refresh=True))
        except ApiError:
            listed = True  # nobody to ask: taken as given
        if not listed:
            raise UnknownModel(name, self.model_ids(), self.client.base_url)
        with self._model_lock:  # after any start-up choice of the first model
            self.model = name
            self.context_tokens = None

    def server_changed(self) -> None:
        """After `/connect`: forget what the old server said; the conversation stays."""
        with self._model_lock:
            self._models = None
            self.think_templates.clear()
            self.context_tokens = None

    def max_model_len(self) -> int | None:
        """The current model's context length, if known; never waits for the server.

        With the model named up front the list was never fetched: it is then
        fetched once in the background, and known at the next call.
        """
        if self._models is None and not self._listing_models:
            self._listing_models = True
            threading.Thread(target=self._list_models_quietly, daemon=True).start()
        for model in self._models or []:
            if model.id == self.model:
                return model.max_model_len
        return None

    def _list_models_quietly(self) -> None:
        with contextlib.suppress(ApiError):
            self.models()

    def _context_window(self, model: str) -> int | None:
        """`model`'s context length, asked of the server if need be (None if unknown)."""
        with contextlib.suppress(ApiError):  # asked only now: one request, in a rare case
            return next((m.max_model_len for m in self.models() if m.id == model), None)
        return None

    # ---- turns --------------------------------------------------------------------------

    def request_body(self) -> dict[str, Any]:
        """What the next turn sends: the parameters, the model, the whole conversation."""
        body = {
            **self.sampling,  # first: the keys below are vllm-chat's own
            "model": self.ensure_model(),
            "messages": self.conversation.request_messages(),
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if self.tools:
            body["tools"] = self.tools
        if self.logprobs is not None:
            body.update(logprobs=True, top_logprobs=self.logprobs)
        return body

    def send(self, text: Any) -> str:
        """Send a message (with any pending attachments) and stream the answer.

        On failure before any answer arrives, the conversation is left as it
        was, the message is kept for `/retry`, and the error is raised. A
        partial answer (connection lost, Ctrl-C) is kept, marked, and recorded
        as the assistant's turn so that roles keep alternating; then the error
        or `KeyboardInterrupt` is raised.
        """
        content = self.attachments.content(text) if isinstance(text, str) else text
        self.attachments.clear()  # they travel in this message (kept in `unsent` if it fails)
        return self._turn(content)

    def give_tool_result(self, text: str, call_id: str | None = None) -> int:
        """`text` as the result of call `call_id` (the first waiting one by default);
        how many calls still wait. At 0, `answer_tools()` lets the model go on."""
        pending = self.conversation.pending_tool_calls()
        call_id = call_id or pending[0]["id"]
        self.conversation.add_tool_result(call_id, text)
        return len(pending) - 1

    def answer_tools(self) -> str:
        """Send the conversation on after the tool results: the model's next answer."""
        return self._turn(None)

    def retry(self) -> str:
        """Send the last user message again, replacing its answer."""
        return self.resend(lambda content: content)

    def resend(self, change: Callable[[Any], Any]) -> str:
        """Replace the last exchange by `change(its user message)`, sent again.

        If that fails before any answer, the new message waits in `unsent`
        for the next `/retry`, in the old exchange's place.
        """
        if self.unsent is not None:
            return self._turn(change(self.unsent))
        removed = self.conversation.pop_exchange()
        if not removed:
            raise NothingToRetry("there is no message to send again")
        return self._turn(change(removed[0].content))

    def last_user_content(self) -> Any:
        """The message `/retry` and `/edit` act on: the unsent one, else the last sent."""
        if self.unsent is not None:
            return self.unsent
        for message in reversed(self.conversation.messages):
            if message.role == "user":
                return message.content
        return None

    def _turn(self, content: Any) -> str:
        """Run the turn; then, however it ended, `after_change` (the store keeps it)."""
        try:
            return self._run_turn(content)
        finally:
            self.after_change()

    def _run_turn(self, content: Any) -> str:
        """Add the message, stream its answer (a `Turn`), and record how it went."""
        self.unsent = None
        if content is not None:  # None: the tool results were the last messages added
            self.conversation.add_user(content)
        try:
            body = self.request_body()
        except BaseException:
            self._forget_unanswered(content)
            raise
        spinner = self.make_spinner()
        key = template_key(body)
        probed_now = key not in self.think_templates
        result = Turn(
            self.client,
            body,
            self.make_renderer,
            think=self.think,
            template_opens_think=self.think_templates[key] if not probed_now
            else self._probe(body, key),
            spinner=spinner,
            report=self.report,
            env=self.env,
            context_window=lambda: self._context_window(body["model"]),
        ).run()
        self.last_result = result
        if result.error is not None:
            if probed_now and not result.shown_anything:  # no server yet? Ask next time.
                self.think_templates.pop(key, None)
            self._record_failure(content, result, result.error)
        if result.never_closed_think and result.finish_reason != "length":
            # The template opens <think>, yet the model answered without closing it:
            # from now on its answers start as answers (the server's word was wrong).
            self.think_templates[key] = False
        calls = result.tool_calls
        self.conversation.add_assistant(result.text, tool_calls=calls, logprobs=result.logprobs)
        say_if_ignored(self, result)
        if self.mode == "repl" and not result.calls_shown:
            self._show_calls(calls)
        if result.stats.usage is not None:
            self.context_tokens = result.stats.usage.total_tokens
        if result.note:
            self.report(result.note, kind="warn")
        if self.stats:
            self.report(result.stats.line(), kind="info")
        return result.text

    def _probe(self, body: dict[str, Any], key: tuple[str, str]) -> Callable[[], bool]:
        """Whether the template opens `<think>`, asked now; known (and kept) when called."""
        probe = ThinkProbe(self.client, body)

        def opens_think() -> bool:
            self.think_templates[key] = probe()
            return self.think_templates[key]

        return opens_think

    def _show_calls(self, calls: list[dict[str, Any]]) -> None:
        """Each tool call the answer made; arguments that are not JSON are flagged."""
        for call in calls:
            text, valid = describe_call(call)
            self.report(text, kind="info")
            if not valid:
                self.report(NOT_JSON, kind="warn")

    def _record_failure(self, content: Any, result: TurnResult, error: BaseException) -> NoReturn:
        """Keep what arrived (or the message, for /retry); raise the error, explained."""
        if result.text or result.calls:
            calls = result.tool_calls
            self.conversation.add_assistant(result.text, partial=True, tool_calls=calls,
                                            logprobs=result.logprobs)  # fmt: skip
            if not result.calls_shown:
                self._show_calls(calls)
        else:
            self._forget_unanswered(content)
        if self.logprobs is not None and (refused := refusal(error, self.mode)):
            raise refused from error
        if isinstance(error, StreamError) and result.text:
            raise StreamError(f"{str(error).rstrip('.')}; the partial answer was kept") from error
        if isinstance(error, HTTPStatusError) and error.status == 404:
            explained = self._explain_missing_model(error)
            if explained is error:
                raise error
            raise explained from error
        if isinstance(error, HTTPStatusError) and (name := _limit_hint(error.server_message)):
            text = f"{error} ({hint(name, mode=self.mode)})"
            raise HTTPStatusError(error.status, error.server_message, text) from error
        raise error

    def _explain_missing_model(self, error: HTTPStatusError) -> HTTPStatusError:
        """A 404 about the model: say which models the server does have."""
        if "model" not in error.server_message.lower():
            return error
        try:
            names = ", ".join(model.id for model in self.models(refresh=True))
        except ApiError:
            return error
        if names and all(name in error.server_message for name in names.split(", ")):
            return error  # vLLM lists them itself ("Valid aliases: ...")
        return HTTPStatusError(
            error.status,
            error.server_message,
            f"{str(error).rstrip('.')}; the server has: {names or 'no models'}",
        )

    def _forget_unanswered(self, content: Any) -> None:
        """No answer came: the conversation is as before; `/retry` can send it again."""
        self.conversation.drop_unanswered()
        self.unsent = content

    # ---- what changes the conversation outside a turn -----------------------------------

    def undo(self) -> int:
        """Forget the last exchange, and a failed message waiting for /retry; how many went."""
        dropped = 0 if self.unsent is None else 1
        self.unsent = None
        self.context_tokens = None  # unknown until the next answer's usage
        return dropped + len(self.conversation.pop_exchange())

    def reset(self) -> int:
        """Forget the conversation and pending attachments (the system prompt stays).

        Returns how many attachments were dropped.
        """
        self.conversation.reset()
        dropped = self.attachments.clear()
        self.unsent = None
        self.context_tokens = None
        return dropped

"""Model, server and settings: /model /set /unset /connect /key /settings /stats /think."""

from __future__ import annotations

import difflib
import json

from vllm_chat.chat.session import Chat
from vllm_chat.client.errors import ApiError
from vllm_chat.config.defaults import KEY_ORIGINS, RESERVED_BODY_KEYS, THINK_MODES
from vllm_chat.config.sampling import misplaced, problem
from vllm_chat.config.settings import key_is_sendable, key_sent_in_clear, url_problem
from vllm_chat.repl.commands.registry import Context, UsageError, command, counted


def _model_names(chat: Chat) -> list[str]:
    return chat.model_ids()


@command(
    "model",
    "list the server's models, or switch to one",
    usage="/model [NAME]",
    arguments=_model_names,
)
def model_command(ctx: Context, arg: str) -> None:
    """List the server's models (`*` the current one), or switch to `arg`."""
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


# ---- request parameters ----------------------------------------------------------------------

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
    """Send `NAME: VALUE` with every request, once the value is checked."""
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
    """Stop sending `arg`; the server's default applies."""
    if arg not in ctx.chat.sampling:
        raise UsageError(
            f"{arg or 'NAME'} is not set; set: {', '.join(ctx.chat.sampling) or 'nothing'}"
        )
    del ctx.chat.sampling[arg]
    ctx.say(f"{arg} unset (the server's default applies)")


# ---- server and key --------------------------------------------------------------------------

CONNECT_USAGE = "usage: /connect [URL] [--key] (--key reads the key hidden; /key changes only it)"


@command(
    "connect",
    "switch to another server and/or key; the conversation stays",
    usage="/connect [URL] [--key]",
)
def connect_command(ctx: Context, arg: str) -> None:
    """Use another server (or the same one again), and a new key with `--key`."""
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
    """Read a new API key at a hidden prompt; never from the command line."""
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


# ---- what is shown ---------------------------------------------------------------------------


@command("settings", "show the server, model, prompt and every setting")
def settings_command(ctx: Context, arg: str) -> None:
    """One line per setting; the API key only as where it came from."""
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
        ("logprobs", "off" if chat.logprobs is None else f"on, top {chat.logprobs}"),
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
    """Toggle the statistics line, or set it on or off."""
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
    """Show the way reasoning is shown, or change it."""
    if not arg:
        ctx.say(f"think: {ctx.chat.think}")
        return
    if arg not in THINK_MODES:
        raise UsageError("usage: /think show|hide|collapse")
    ctx.chat.think = arg
    ctx.say(f"think: {arg}")

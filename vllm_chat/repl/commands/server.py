"""Inside the server and the model: /server (what it serves, how busy it is) and /tokens."""

from __future__ import annotations

from vllm_chat.client import server as insight
from vllm_chat.client.errors import ApiError, HTTPStatusError, RequestTimeout, ServerUnreachable
from vllm_chat.render.text import sanitize, styled
from vllm_chat.repl.commands.registry import Context, command, counted

LABEL = 14  # the width of /server's first column
# Token strings alternate between these two looks (SGR), so that each one's edges show.
TOKEN_STYLES = ("30;46", "30;43")
TOKEN_SEPARATOR = "│"  # between token strings where there is no colour (not `|`: <|im_end|>)


def _row(label: str, text: str) -> str:
    return f"{label:<{LABEL}}{text}"


def _percent(share: float) -> str:
    return f"{share * 100:.1f}%"


def _number(value: float) -> str:
    return f"{value:,.0f}"


@command("server", "show the server: version, health, models, load, cache and throughput")
def server_command(ctx: Context, arg: str) -> None:
    """The server's URL, version, health and models, then its live figures from /metrics.

    A server that cannot be reached is one line; any other part that fails is one
    line in its place, and the rest is still shown.
    """
    client = ctx.chat.client
    try:
        version = insight.version(client)
        about = f"vLLM {version}" if version else "no version in its /version"
    except ServerUnreachable:
        raise  # one line, from run()
    except ApiError as exc:
        about = "no /version (not vLLM?)" if insight.no_endpoint(exc) else f"version: {exc}"
    ctx.say(_row("server", f"{client.server_root} · {about} · {_health(ctx)}"))
    _show_models(ctx)
    _show_figures(ctx)


def _health(ctx: Context) -> str:
    try:
        insight.health(ctx.chat.client)
    except HTTPStatusError as exc:
        return "no /health" if insight.no_endpoint(exc) else f"unhealthy ({exc.status})"
    except RequestTimeout:
        return "no answer from /health"
    except ApiError as exc:
        return f"health unknown ({exc})"
    return "healthy"


def _show_models(ctx: Context) -> None:
    try:
        cards = insight.model_cards(ctx.chat.client)
    except ApiError as exc:
        ctx.say(_row("models", str(exc)))
        return
    if not cards:
        ctx.say(_row("models", "none listed"))
    lengths = {card.id: card.max_model_len for card in cards}
    for index, card in enumerate(cards):
        parts = [f"{'*' if card.id == ctx.chat.model else ' '} {card.id}"]
        if card.parent:
            parts.append(f"LoRA adapter of {card.parent}")
        length = card.max_model_len or lengths.get(card.parent or "")
        if length:
            parts.append(f"max_model_len {length:,}")
        if card.root and card.root != card.id:
            parts.append(f"root {card.root}")
        ctx.say(_row("models" if index == 0 else "", " · ".join(parts)))


def _show_figures(ctx: Context) -> None:
    """Requests, KV cache, prefix cache and throughput; a figure not sent is left out."""
    client = ctx.chat.client
    try:
        now = insight.metrics(client)
    except ApiError as exc:
        ctx.say(_row("metrics", str(exc)))
        return
    before = ctx.server_looks.get(client.server_root)
    ctx.server_looks[client.server_root] = now
    since = insight.rates(before, now) if isinstance(before, insight.Metrics) else None
    load = []
    if now.running is not None:
        load.append(f"{_number(now.running)} running")
    if now.waiting is not None:
        load.append(f"{_number(now.waiting)} waiting")
    if load:
        ctx.say(_row("requests", " · ".join(load)))
    if now.kv_cache is not None:
        ctx.say(_row("KV cache", f"{_percent(now.kv_cache)} in use"))
    hit_rate = now.hit_rate()
    if hit_rate is not None:
        text = f"{_percent(hit_rate)} hit since the server started"
        if now.prefix_queries and now.prefix_hits is not None:
            queried = _number(now.prefix_queries)
            text += f" ({_number(now.prefix_hits)} of {queried} prompt tokens)"
        if since is not None and since.hit_rate is not None:
            text += f" · {_percent(since.hit_rate)} since the last look"
        ctx.say(_row("prefix cache", text))
    if now.prompt_tokens is None and now.generation_tokens is None:
        return
    if before is None:
        ctx.say(_row("throughput", "first look: /server again shows tokens/s since this one"))
        return
    rates = []
    if since is not None and since.prompt_per_second is not None:
        rates.append(f"{since.prompt_per_second:,.1f} prompt")
    if since is not None and since.generation_per_second is not None:
        rates.append(f"{since.generation_per_second:,.1f} generation")
    if since is None or not rates:
        ctx.say(_row("throughput", "unknown since the last look (the server restarted?)"))
        return
    ctx.say(_row("throughput", f"{' + '.join(rates)} tokens/s in the last {since.seconds:.1f} s"))


@command(
    "tokens",
    "show TEXT as the model's tokens, or what the conversation costs through its template",
    usage="/tokens [TEXT]",
)
def tokens_command(ctx: Context, arg: str) -> None:
    """vLLM's /tokenize: TEXT's tokens; without TEXT, the next request's prompt, counted."""
    chat = ctx.chat
    model = chat.ensure_model()
    if arg:
        tokens = insight.tokenize_text(chat.client, model, arg)
        _show_token_strs(ctx, tokens.strs)
        ctx.say(counted(tokens.count, "token"))
        return
    messages = chat.conversation.request_messages()
    if not messages:
        ctx.say("nothing in the conversation yet: /tokens TEXT shows how TEXT is split")
        return
    tokens = insight.tokenize_messages(
        chat.client,
        model,
        messages,
        chat_template_kwargs=chat.sampling.get("chat_template_kwargs"),
        tools=chat.tools,
    )
    _show_token_strs(ctx, tokens.strs)
    line = f"the next request's prompt: {counted(tokens.count, 'token')} through the chat template"
    limit = tokens.max_model_len or chat.max_model_len()
    if limit:
        left = limit - tokens.count
        room = f"{left:,} left for the answer" if left >= 0 else f"{-left:,} too many"
        line += f", of max_model_len {limit:,}: {room}"
    ctx.say(line)


def _show_token_strs(ctx: Context, strs: list[str] | None) -> None:
    """The token strings in turn in two colours on a terminal, else `│` between them."""
    if not strs:
        return
    shown = [sanitize(s).replace("\n", "↵").replace("\t", "⇥") for s in strs]
    terminal = ctx.terminal
    if terminal is None or not ctx.chat.env.color(terminal):
        ctx.say(TOKEN_SEPARATOR.join(shown))
        return
    pieces = (styled(s, TOKEN_STYLES[i % 2], True) for i, s in enumerate(shown))
    terminal.write("".join(pieces) + "\n")
    terminal.flush()

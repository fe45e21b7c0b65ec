"""/version: this client's version and the server's."""

from __future__ import annotations

from vllm_chat import __version__
from vllm_chat.repl.commands.registry import Context, command


@command("version", "show the versions of vllm-chat and of the server")
def version_command(ctx: Context, arg: str) -> None:
    """vllm-chat's version, then the one the server's `GET /version` gives (vLLM's)."""
    ctx.say(f"vllm-chat {__version__}")
    client = ctx.chat.client
    answer = client.call_root("GET", "/version")  # an ApiError is run()'s one error line
    version = answer.get("version") if isinstance(answer, dict) else None
    if isinstance(version, str) and version:
        ctx.say(f"server {version} ({client.server_root})")
    else:
        ctx.error(f"the server at {client.server_root} answered /version without a version")

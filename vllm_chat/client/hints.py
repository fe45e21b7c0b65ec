"""Every hint an error message gives, in one table, and the checks that pick one.

Standard library only: which way a connection failed (a TLS mismatch, a host
name that does not resolve, a refused or reset connection), whether a host is
this machine, and shortening a server's message without losing its reason.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from collections.abc import Iterator

# What to do next, one entry per situation; messages end with one of these.
HINTS: dict[str, str] = {
    # Only a refused connection to this machine means "nothing is running here".
    "start": "start it with `vllm serve MODEL` or pass --url",
    "remote": "check the host and port in --url, that the server listens on that address, "
    "any firewall on the way, and the proxy variables (HTTP_PROXY, HTTPS_PROXY, NO_PROXY)",
    "local_timeout": "is the server up and the URL right?",
    "use_http": "the server speaks plain http: use {url}",
    "use_https": "the server speaks https: use {url}",
    "maybe_https": "if the server speaks https, use {url}",
    "no_such_host": "check the host name in --url",
    "dns_down": "is the network up?",
    "certificate": "set REQUESTS_CA_BUNDLE to the file of the CA that signed its certificate",
    "proxy": "check the proxy, or list the host in NO_PROXY to go around it",
    "base_url": "is --url the API's base URL (usually ending in /v1)?",
    # A 404 or 405 for an API path (under --url) or for one at the server root.
    "api_path": "is {url} the API's base URL? It usually ends in /v1",
    "no_endpoint": "not vLLM, or behind a proxy that passes on only /v1?",
    "timeout": "see --timeout",
    "connect_timeout": "see --connect-timeout",
    "gateway": "that is a LiteLLM gateway speaking, not vLLM",
    "cooldown": "that is a LiteLLM gateway speaking, not vLLM: it paused this model's "
    "servers after they failed",
    "no_db": "that is a LiteLLM gateway speaking, not vLLM: without its database it "
    "accepts only its master key",
}

# Hints that depend on where the user is: the chat has commands, `-q` has flags.
MODES = ("repl", "quick")
MODE_HINTS: dict[str, dict[str, str]] = {
    "context": {
        "repl": "/undo drops the last exchange, /reset starts afresh",
        "quick": "send a shorter message or system prompt, or serve a longer --max-model-len",
    },
    "max_tokens": {
        "repl": "/set max_tokens N asks for fewer, /unset max_tokens lets the server decide",
        "quick": "ask for fewer with --max-tokens N, or leave it out",
    },
    "logprobs": {
        "repl": "/logprobs N asks for fewer alternatives, /logprobs off stops asking",
        "quick": "ask for fewer with --logprobs N, or leave it out",
    },
    "no_logprobs": {
        "repl": "/logprobs off stops asking",
        "quick": "leave out --logprobs",
    },
}

# ssl.SSLError reasons that mean the other end answered in plain text, not TLS.
_NOT_TLS = {"WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG",
            "UNKNOWN_PROTOCOL", "HTTP_REQUEST"}  # fmt: skip
# A 400 body from a TLS server (nginx, Go) that was sent plain http.
PLAIN_TO_TLS_BODIES = (
    "plain http request was sent to https port",
    "client sent an http request to an https server",
)


def hint(name: str, *, mode: str = "repl", **values: str) -> str:
    """The hint `name` for `mode` ("repl" or "quick"), with `{url}` and the like filled in."""
    text = MODE_HINTS[name][mode] if name in MODE_HINTS else HINTS[name]
    return text.format(**values) if values else text


def is_local(host: str) -> bool:
    """Is `host` this machine: `localhost`, a loopback or the unspecified address?"""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def causes(exc: BaseException) -> Iterator[BaseException]:
    """`exc` and every exception it wraps: causes, contexts, `reason` and `args`."""
    seen: set[int] = set()
    stack = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        inner = [current.__cause__, current.__context__, getattr(current, "reason", None)]
        inner += list(current.args)
        stack.extend(item for item in inner if isinstance(item, BaseException))


def connect_failure(exc: BaseException) -> tuple[str, str]:
    """Which way a connection failed, and a short reason from the system.

    The kind is one of `certificate`, `not_tls` (https:// to a plain http
    server), `tls_alert` (http:// to a TLS server that said so), `tls`,
    `no_such_host`, `dns_down`, `refused`, `reset` or `other`.
    """
    found = list(causes(exc))
    for item in found:
        if isinstance(item, ssl.SSLCertVerificationError):
            return "certificate", str(item.verify_message or item.reason or "")
    for item in found:
        if isinstance(item, ssl.SSLError):
            reason = str(item.reason or "")
            text = str(item).lower()
            if reason in _NOT_TLS or "wrong version number" in text:
                return "not_tls", reason
            return "tls", reason.replace("_", " ").lower() or "handshake failed"
    for item in found:
        if isinstance(item, socket.gaierror):
            temporary = item.errno == getattr(socket, "EAI_AGAIN", None)
            return ("dns_down" if temporary else "no_such_host"), str(item.strerror or "")
    for item in found:
        if isinstance(item, ConnectionRefusedError):
            return "refused", ""
    for item in found:
        # A TLS server answers a plain request with an alert record: 0x15 0x03 ...
        line = getattr(item, "line", None)
        if isinstance(item, http.client.BadStatusLine) and str(line).startswith("\x15\x03"):
            return "tls_alert", ""
    for item in found:
        closed = (ConnectionResetError, ConnectionAbortedError, http.client.RemoteDisconnected)
        if isinstance(item, closed):
            return "reset", ""
    return "other", ""


def shorten(text: str, limit: int = 300) -> str:
    """`text` on one line of at most `limit` characters, cut between words.

    A longer text keeps its beginning and its end (where a server usually puts
    the reason, after the wrappers a proxy adds), joined by ` … `.
    """
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    end = limit // 3
    if text[end] != " " and " " in text[:end]:
        end = text.rindex(" ", 0, end)  # no word cut in two
    head = text[:end].rstrip(" ,;:")
    start = len(text) - (limit - len(head) - 3)
    if text[start - 1] != " " and " " in text[start:-1]:
        start = text.index(" ", start) + 1
    return f"{head} … {text[start:]}"

"""Loopback ports where nothing listens, and where nothing will for the whole test run."""

from __future__ import annotations

import socket

_HELD: list[socket.socket] = []  # open until this process exits


def closed_port() -> int:
    """A port on 127.0.0.1 that refuses every connection, as one where nothing runs.

    The port stays bound, never listening, until the process exits: a port bound and
    closed again is soon handed to the next server asking for a free one (a stand-in of
    this run or of a run beside it), which then gets the requests meant to fail.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    _HELD.append(sock)
    return sock.getsockname()[1]


def hold(port: int) -> None:
    """Keep `port`, which a stopped server just left, closed until `release(port)`.

    Without it, another server (of this run or of a run beside it) may be given the port
    and answer what was meant to find nothing there.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past its TIME_WAITs
    sock.bind(("127.0.0.1", port))
    _HELD.append(sock)


def release(port: int) -> None:
    """Let a server listen on `port`, a `closed_port()` (a server that starts late)."""
    for sock in _HELD:
        if sock.getsockname()[1] == port:
            _HELD.remove(sock)
            sock.close()
            return
    raise ValueError(f"port {port} is not held")

"""Paced stream: the client's CPU use while a server emits 1,000 tokens/s, and how
soon it exits after the last event.

A small SSE server here (standard library, loopback) sends vLLM-shaped chunks,
one 4-character delta per token, each at its own deadline (start + i / rate),
and records when it wrote the stream's last byte. The client runs as
`vllm-chat -q` in a 100x40 pseudo-terminal; its CPU time comes from
`getrusage(RUSAGE_CHILDREN)` before and after it is reaped. For comparison,
the same with stdout to a pipe (plain text) and curl.
"""

from __future__ import annotations

import json
import socket
import socketserver
import subprocess
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pexpect
from common import (
    LOOPBACK,
    VLLM_CHAT,
    Table,
    Target,
    chat_body,
    child_env,
    children_cpu,
    curl_command,
    median,
    scratch,
)
from corpus import deltas, markdown_answer
from e2e import DIMENSIONS

RATE = 1000.0  # deltas (tokens) per second
CHUNK_CHARS = 4
MODEL = "paced-model"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: PacedServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        if self.path.split("?")[0] != "/v1/models":
            self._json(404, {"detail": "Not Found"})
            return
        self._json(200, {"object": "list", "data": [{"id": MODEL, "object": "model"}]})

    def do_POST(self) -> None:
        request = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        if self.path != "/v1/chat/completions" or not request.get("stream"):
            self._json(404, {"detail": "Not Found"})
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.server.stream(self, request)

    def _json(self, status: int, payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def event(self, payload: dict[str, Any] | str) -> None:
        text = payload if isinstance(payload, str) else json.dumps(payload, separators=(",", ":"))
        data = f"data: {text}\n\n".encode()
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))


class PacedServer(ThreadingHTTPServer):
    """Answers every chat request with `pieces`, one every 1/`rate` seconds."""

    daemon_threads = True

    def __init__(self, pieces: list[str], rate: float) -> None:
        super().__init__((LOOPBACK, 0), _Handler)
        self.pieces = pieces
        self.rate = rate
        self.started: float | None = None  # monotonic time of the first content delta
        self.last_write: float | None = None  # ... and of the stream's last byte
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    def server_bind(self) -> None:  # no reverse DNS look-up (HTTPServer's getfqdn)
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.server_port}/v1"

    def start(self) -> PacedServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def stream(self, handler: _Handler, request: dict[str, Any]) -> None:
        head = {"id": "chatcmpl-paced", "object": "chat.completion.chunk", "created": 0}
        head["model"] = request.get("model", MODEL)

        def chunk(delta: dict[str, str], finish: str | None = None) -> dict[str, Any]:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
            return {**head, "choices": [choice]}

        handler.event(chunk({"role": "assistant", "content": ""}))
        start = self.started = time.monotonic()
        for index, piece in enumerate(self.pieces):
            wait = start + index / self.rate - time.monotonic()
            if wait > 0:
                time.sleep(wait)  # real pacing: this is the server under test's clock
            handler.event(chunk({"content": piece}))
        handler.event(chunk({}, "stop"))
        usage = {"prompt_tokens": 1, "completion_tokens": len(self.pieces)}
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        handler.event({**head, "choices": [], "usage": usage})
        handler.event("[DONE]")
        handler.wfile.write(b"0\r\n\r\n")
        self.last_write = time.monotonic()


@dataclass
class Measure:
    """One paced run of one client."""

    wall: float  # spawn to exit
    cpu: float  # user + sys of the child
    stream: float  # first content delta to last byte, at the server
    exit_lag: float  # last byte written to the child's exit

    @property
    def percent(self) -> float:
        return 100 * self.cpu / self.wall


def measure(server: PacedServer, argv: list[str], env: dict[str, str], pty: bool) -> Measure:
    """Run one client against `server`; its exit is when its output reaches EOF."""
    server.started = server.last_write = None
    cpu_before = children_cpu()
    start = time.monotonic()
    if pty:
        child = pexpect.spawn(
            argv[0],
            argv[1:],
            dimensions=DIMENSIONS,
            env=env,
            maxread=65536,
            timeout=300,
            echo=False,
        )
        child.read()  # to EOF: the child closed the terminal, it is exiting
        ended = time.monotonic()
        child.close()
        status = child.exitstatus
    else:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, env=env)
        assert proc.stdout is not None
        while proc.stdout.read(65536):
            pass
        ended = time.monotonic()
        status = proc.wait()
    cpu = children_cpu() - cpu_before
    if status != 0 or server.started is None or server.last_write is None:
        raise RuntimeError(f"{argv[0]} failed (status {status}) or the stream did not finish")
    return Measure(
        wall=ended - start,
        cpu=cpu,
        stream=server.last_write - server.started,
        exit_lag=ended - server.last_write,
    )


def run(quick: bool = False) -> list[Table]:
    seconds = 4 if quick else 16
    runs = 1 if quick else 3
    tokens = int(seconds * RATE)
    pieces = deltas(markdown_answer(tokens), CHUNK_CHARS)[:tokens]
    server = PacedServer(pieces, RATE).start()
    try:
        with scratch() as tmp:
            env = child_env(tmp)
            client = [VLLM_CHAT, "--url", server.url, "-q", "x"]
            kinds = [
                ("vllm-chat -q, pty 100x40 (Markdown)", client, True, runs),
                ("vllm-chat -q, stdout to a pipe", client, False, 1),
                (
                    "curl -sN to /dev/null",
                    curl_command(server.url, chat_body("x", MODEL)),
                    False,
                    1,
                ),
            ]
            long: dict[str, list[Measure]] = {}
            short: dict[str, list[Measure]] = {}
            for label, argv, pty, count in kinds:
                server.pieces = ["ok"]  # a one-token answer: start-up and exit alone
                short[label] = [measure(server, argv, env, pty) for _ in range(3)]
                server.pieces = pieces
                long[label] = [measure(server, argv, env, pty) for _ in range(count)]
    finally:
        server.stop()

    table = Table(
        f"paced: {len(pieces):,} tokens at {RATE:,.0f} tokens/s ({seconds} s): client CPU and "
        f"exit lag, median of {runs} (pty), 1 run (pipe, curl)",
        [
            "client", "wall s", "stream s", "CPU s", "CPU %", "vs curl",
            "1-token CPU s", "stream CPU %", "exit lag ms",
        ],
    )  # fmt: skip
    curl_percent = median([m.percent for m in long[kinds[2][0]]])
    verdict: dict[str, tuple[float, float]] = {}
    for label, *_ in kinds:
        results = long[label]
        percent = median([m.percent for m in results])
        cpu, stream = median([m.cpu for m in results]), median([m.stream for m in results])
        idle = median([m.cpu for m in short[label]])
        lag = median([m.exit_lag for m in results])
        verdict[label] = (percent, lag)
        table.add(
            label,
            f"{median([m.wall for m in results]):.2f}",
            f"{stream:.2f}",
            f"{cpu:.3f}",
            f"{percent:.1f}",
            f"{percent / max(curl_percent, 1e-9):.1f}x",
            f"{idle:.3f}",
            f"{100 * (cpu - idle) / stream:.1f}",
            f"{lag * 1000:.0f}",
        )
    percent, lag = verdict[kinds[0][0]]
    table.targets = [
        Target("pty client CPU, % of one core", "< 15 %", f"{percent:.1f} %", percent < 15),
        Target("last event written -> client exit", "< 0.2 s", f"{lag:.3f} s", lag < 0.2),
    ]
    table.notes = [
        "wall: spawn (start-up, GET /models included) to end of output;"
        " CPU % = (user+sys) / wall, of one core;",
        "1-token CPU: the same client given a one-token answer (start-up and exit, median of 3);",
        "stream CPU % = (CPU - 1-token CPU) / stream s;",
        "exit lag = end of the client's output (its exit) - the server's last byte written.",
    ]
    if quick:
        table.notes.append(
            f"--quick streams {seconds} s: start-up weighs {16 // seconds}x more in CPU % than in"
            " the full 16 s run."
        )
    return [table]

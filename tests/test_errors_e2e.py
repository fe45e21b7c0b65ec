"""Errors that point the right way: each failure gets its own hint, seen through the command.

The real `vllm-chat` runs with piped streams (`-q`, in this process: `tests.inprocess`) or in
a pseudo-terminal against the stand-in or a small scripted server on 127.0.0.1: a TLS
server, a server that answers plain http to TLS, a closed port, a host name that cannot
resolve. Nothing is patched.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.inprocess import run_main
from tests.processes import argv, spawn_pty, vllm_chat
from tests.standin import Reply, StandinServer, litellm_error
from tests.test_cli import ROOT
from tests.test_e2e import COLUMNS, ROWS, Terminal, spawn

CTRL_D = "\x04"
LITELLM_HEADERS = {"x-litellm-version": "1.74.0", "x-litellm-call-id": "5b1c"}


def one_error(result: subprocess.CompletedProcess[bytes]) -> str:
    """The one line on stderr of a failed `-q`: an error, nothing on stdout, exit 1."""
    err = result.stderr.decode()
    assert result.returncode == 1, err
    assert result.stdout == b""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


GARBLED = ("..", ";;", "; ;", ": :", ".;", ".:", "  ", "answered answered", "the the ")


def reads_as_written(line: str) -> None:
    """No sentence said twice, no hint cut short, no stray punctuation."""
    for garbled in GARBLED:
        assert garbled not in line, line
    assert not line.endswith(("…", ",", ";", ":")), line


# ---- small scripted servers ---------------------------------------------------------------


class Scripted:
    """A TCP server on 127.0.0.1 that handles each connection with `serve(sock)`."""

    def __init__(self, serve: Callable[[socket.socket], None], tls: ssl.SSLContext | None = None):
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._serve = serve
        self._tls = tls
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._handle, args=(sock,), daemon=True).start()

    def _handle(self, sock: socket.socket) -> None:
        with contextlib.suppress(OSError), contextlib.closing(sock):
            sock.settimeout(5)
            if self._tls is not None:
                # A plain request fails the handshake here; the socket closes unread (a reset).
                sock = self._tls.wrap_socket(sock, server_side=True)
            self._serve(sock)

    def url(self, scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self.port}/v1"

    def close(self) -> None:
        self._listener.close()


def read_request(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        piece = sock.recv(65536)
        if not piece:
            break
        data += piece
    return data


def answer_with(raw: bytes) -> Callable[[socket.socket], None]:
    def serve(sock: socket.socket) -> None:
        read_request(sock)
        sock.sendall(raw)

    return serve


def http_reply(status: str, body: bytes, content_type: str) -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made now (so valid by this machine's clock)."""
    if shutil.which("openssl") is None:
        pytest.skip("no openssl command to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2",
         "-subj", "/CN=vllm-chat test", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def tls_server(certificate: tuple[Path, Path]) -> Iterator[Scripted]:
    """A TLS server (as `vllm serve --ssl-certfile` is) that answers 503 to any request."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    body = b'{"error": {"message": "TLS works", "type": "ServiceUnavailableError", "code": 503}}'
    server = Scripted(answer_with(http_reply("503 Service Unavailable", body, "application/json")),
                      tls=context)  # fmt: skip
    yield server
    server.close()


@pytest.fixture
def scripted() -> Iterator[Callable[[bytes], Scripted]]:
    started: list[Scripted] = []

    def start(raw: bytes) -> Scripted:
        server = Scripted(answer_with(raw))
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()


def own_address() -> str:
    """This machine's address on its default route (no packet is sent), or skip."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # UDP connect only picks the route
        except OSError:
            pytest.skip("no network interface besides loopback")
        address = probe.getsockname()[0]
    if address.startswith("127."):
        pytest.skip("no network interface besides loopback")
    return address


def closed_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


# ---- TLS and plain http crossed ---------------------------------------------------------


def test_https_to_a_plain_http_server_says_use_http(server: StandinServer) -> None:
    url = server.url.replace("http://", "https://")
    line = one_error(run_main("--url", url, "-q", "hi"))
    assert line == (
        f"error: cannot reach the server at {url} over TLS; "
        f"the server speaks plain http: use {server.url}"
    )
    assert server.requests == []


def test_http_to_a_tls_server_suggests_https(tls_server: Scripted) -> None:
    line = one_error(run_main("--url", tls_server.url(), "-q", "hi"))
    assert line == (
        f"error: cannot reach the server at {tls_server.url()}: it closed the connection "
        f"without answering; if the server speaks https, use {tls_server.url('https')}"
    )
    assert "vllm serve" not in line


@pytest.mark.parametrize(
    "reply",
    [
        http_reply(
            "400 Bad Request",
            b"<html>\r\n<head><title>400 The plain HTTP request was sent to HTTPS port</title>"
            b"</head>\r\n<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n</body>\r\n</html>",
            "text/html",
        ),
        http_reply(
            "400 Bad Request",
            b"Client sent an HTTP request to an HTTPS server.\n",
            "text/plain; charset=utf-8",
        ),
        b"\x15\x03\x01\x00\x02\x02\x46",  # a TLS alert record instead of a status line
    ],
    ids=["nginx", "go", "tls-alert"],
)
def test_http_to_a_tls_port_that_says_so_gets_use_https(scripted, reply: bytes) -> None:
    port = scripted(reply)
    line = one_error(run_main("--url", port.url(), "-q", "hi"))
    assert line.endswith(f"; the server speaks https: use {port.url('https')}"), line
    reads_as_written(line)


def test_an_untrusted_certificate_names_the_way_to_trust_it(
    tls_server: Scripted, certificate: tuple[Path, Path]
) -> None:
    url = tls_server.url("https")
    line = one_error(run_main("--url", url, "-q", "hi"))
    assert line.startswith(f"error: cannot reach the server at {url}: its TLS certificate is not")
    assert line.endswith("set REQUESTS_CA_BUNDLE to the file of the CA that signed its certificate")
    # Following the hint gets through: the server's own answer comes back.
    trusted = run_main("--url", url, "-q", "hi", env={"REQUESTS_CA_BUNDLE": str(certificate[0])})
    assert one_error(trusted) == "error: the server answered 503 Service Unavailable: TLS works"


# ---- names, refused and silent connections -----------------------------------------------


def test_an_unknown_host_name_says_no_such_host() -> None:
    url = "http://no-such-host.invalid:8000/v1"
    line = one_error(run_main("--url", url, "-q", "hi"))
    assert line == (
        f"error: cannot reach the server at {url}: no such host no-such-host.invalid; "
        "check the host name in --url"
    )


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_a_refused_local_connection_suggests_vllm_serve(host: str) -> None:
    port = closed_port("127.0.0.1")
    url = f"http://{host}:{port}/v1"
    line = one_error(run_main("--url", url, "-q", "hi"))
    assert line == (
        f"error: cannot reach the server at {url}: nothing listens on port {port}; "
        "start it with `vllm serve MODEL` or pass --url"
    )


def test_a_refused_remote_connection_points_at_host_port_and_firewall() -> None:
    address = own_address()  # not loopback: for the client, another machine
    port = closed_port(address)
    url = f"http://{address}:{port}/v1"
    line = one_error(run_main("--url", url, "-q", "hi"))
    assert line.startswith(
        f"error: cannot reach the server at {url}: {address} refused the connection on port {port}"
    )
    assert "vllm serve" not in line  # nothing to start on this machine
    for word in ("host and port", "firewall", "HTTPS_PROXY", "NO_PROXY"):
        assert word in line, line
    reads_as_written(line)


@pytest.fixture
def remote_black_hole() -> Iterator[str]:
    """A non-loopback URL whose connects never complete (a listener with a full queue)."""
    address = own_address()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind((address, 0))
    listener.listen(0)
    fillers = []
    for _ in range(3):
        filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        filler.setblocking(False)
        filler.connect_ex(listener.getsockname())
        fillers.append(filler)
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.settimeout(0.3)
            try:
                probe.connect(listener.getsockname())
                pytest.skip("this system completes connects to a full listener")
            except TimeoutError:
                pass
        yield f"http://{address}:{listener.getsockname()[1]}/v1"
    finally:
        for sock in [*fillers, listener]:
            sock.close()


def test_a_remote_connect_timeout_points_at_firewall_and_proxy(remote_black_hole: str) -> None:
    line = one_error(run_main("--url", remote_black_hole, "--connect-timeout", "0.5", "-q", "hi"))
    assert line.startswith(
        f"error: no connection to {remote_black_hole} within 0.5 s (see --connect-timeout); "
        "check the host and port in --url"
    )
    assert "firewall" in line and "HTTPS_PROXY" in line and "vllm serve" not in line


def test_a_proxy_that_refuses_is_named_without_its_password() -> None:
    proxy_port = closed_port("127.0.0.1")
    env = {"HTTP_PROXY": f"http://user:s3cret@127.0.0.1:{proxy_port}", "NO_PROXY": ""}
    url = "http://no-such-host.invalid:8000/v1"
    line = one_error(run_main("--url", url, "-q", "hi", env=env))
    assert line == (
        f"error: cannot reach the proxy http://127.0.0.1:{proxy_port} (from HTTP_PROXY) on the "
        f"way to {url}; check the proxy, or list the host in NO_PROXY to go around it"
    )
    assert "s3cret" not in line


# ---- a LiteLLM gateway in front ------------------------------------------------------------

UPSTREAM_400 = (
    "litellm.BadRequestError: litellm.APIError: APIError: Hosted_vllmException - "
    '{"object":"error","message":"This model\'s maximum context length is 4096 tokens. '
    "However, you requested 5000 tokens (4000 in the messages, 1000 in the completion). Please "
    'reduce the length of the messages or completion.","type":"BadRequestError","param":null,'
    '"code":400}. Received Model Group=qwen\nAvailable Model Group Fallbacks=None'
)
COOLDOWN = (
    "litellm.RateLimitError: No deployments available for selected model, Try again in 60 "
    "seconds. Passed model=qwen. pre-call-checks=False, cooldown_list=[('8b1f0c2a', "
    "{'exception_received': 'litellm.RateLimitError: RateLimitError: Hosted_vllmException - "
    "Error code: 429', 'status_code': '429', 'timestamp': 1754000000.0, 'cooldown_time': 60})]"
)


def test_the_servers_reason_behind_litellm_wrappers_is_shown_whole(server: StandinServer) -> None:
    server.push(
        Reply(status=400, error_body=litellm_error(UPSTREAM_400, 400), headers=LITELLM_HEADERS)
    )
    line = one_error(run_main("--url", server.url, "-q", "hi"))
    assert line.startswith(
        "error: the server answered 400 Bad Request through a LiteLLM gateway: This model's "
        "maximum context length is 4096 tokens. However, you requested 5000 tokens (4000 in the "
        "messages, 1000 in the completion). Please reduce the length of the messages or completion."
    ), line
    assert "litellm." not in line and "Model Group" not in line
    reads_as_written(line)


@pytest.mark.parametrize(
    ("status", "message", "shown", "hint"),
    [
        (400, "No connected db.", "400 Bad Request: No connected db.",
         "without its database it accepts only its master key"),
        (429, COOLDOWN,
         "429 Too Many Requests: No deployments available for selected model, Try again in 60 "
         "seconds.", "it paused this model's servers after they failed"),
    ],
    ids=["no-db", "cooldown"],
)  # fmt: skip
def test_the_gateways_own_errors_say_that_a_gateway_answered(
    server: StandinServer, status: int, message: str, shown: str, hint: str
) -> None:
    server.push(Reply(status=status, error_body=litellm_error(message, status)))
    line = one_error(run_main("--url", server.url, "-q", "hi"))
    assert line == (
        f"error: the server answered {shown} (that is a LiteLLM gateway speaking, not vLLM: {hint})"
    )


def test_a_gateways_in_stream_error_reads_as_the_servers_error(server: StandinServer) -> None:
    # LiteLLM sends the upstream's failure as an event and ends the body: no [DONE].
    failure = "litellm.APIConnectionError: Hosted_vllmException - Connection error."
    server.push(Reply(content="The first words", gateway_error=failure, headers=LITELLM_HEADERS))
    result = run_main("--url", server.url, "-q", "hi")
    assert result.returncode == 1
    assert result.stdout == b"The first words\n"
    err = result.stderr.decode().splitlines()
    assert err == [
        "[incomplete]",
        "error: the server behind a LiteLLM gateway stopped the answer: Connection error; "
        "the partial answer was kept",
    ]
    assert not any("connection was lost" in line for line in err)


def test_a_gateways_in_stream_error_in_the_repl(server: StandinServer, children) -> None:
    server.push(Reply(content="", gateway_error="litellm.InternalServerError: engine died"))
    child, term = spawn("--url", server.url, "--no-history")
    children.append(child)
    term.wait_prompt()
    child.send("first\r")
    term.wait_text("error: the LiteLLM gateway stopped the answer: engine died")
    term.wait_prompt()
    child.send("second\r")
    term.wait_text("You said: second")
    term.wait_prompt()
    child.send(CTRL_D)
    assert term.wait_exit() == 0
    assert "connection was lost" not in term.seen_text()


# ---- empty answers --------------------------------------------------------------------------


def test_an_empty_answer_in_the_repl_says_so_between_the_prompts(
    server: StandinServer, children
) -> None:
    # Through LiteLLM an upstream's HTML error page becomes exactly this: an empty stream.
    server.push(Reply(content="", headers=LITELLM_HEADERS), Reply(reasoning="hmm", content=""))
    child, term = spawn("--url", server.url, "--no-history")
    children.append(child)
    term.wait_prompt()
    child.send("first\r")
    term.wait_text("(empty answer)")
    term.wait_prompt()
    child.send("second\r")
    term.wait_text("(no answer after the reasoning)")
    term.wait_prompt()
    child.send(CTRL_D)
    assert term.wait_exit() == 0
    lines = [line for line in term.seen_lines() if line.strip()]
    first = lines.index("> first")
    assert lines[first + 1] == "(empty answer)"
    assert lines[first + 2] == "> second"


# ---- --stats in a terminal ---------------------------------------------------------------------


def test_stats_in_a_terminal_show_ttft_rate_time_and_tokens(
    server: StandinServer, children
) -> None:
    server.push(Reply(content="word " * 40, chunk_chars=5, delay=0.02))
    child, term = spawn("--url", server.url, "--stats", "-q", "count words")
    children.append(child)
    assert term.wait_exit() == 0
    stats = [line for line in term.seen_lines() if line.startswith("TTFT ")]
    assert len(stats) == 1, term.seen_text()
    parts = stats[0].split(" · ")
    assert parts[0].endswith(" ms") and parts[1].endswith(" tokens/s"), stats
    assert parts[2].endswith(" s") and parts[3].endswith(" prompt + 40 completion tokens"), stats
    assert 0 < float(parts[1].split()[0]) <= 50  # 39 tokens over at least 39 pauses of 20 ms


# ---- started with SIGINT ignored (nohup, a background job, some CI runners) -------------------


def test_the_chat_takes_ctrl_c_back_when_started_with_sigint_ignored(
    server: StandinServer, children
) -> None:
    # Ctrl-C while an answer streams: the main thread then waits on the socket, where
    # the signal always lands. (Pressed during start-up, while Python imports modules,
    # a Ctrl-C can land in a weakref callback, where Python drops the KeyboardInterrupt.)
    command = vllm_chat("--url", server.url, "--no-history")
    child = spawn_pty(command, rows=ROWS, columns=COLUMNS, sigint="ignored")
    children.append(child)
    term = Terminal(child)
    term.wait_prompt()
    server.push(Reply(content="lorem ipsum " * 60, chunk_chars=4, delay=0.05))
    child.send("go\r")
    term.wait_text("lorem ipsum lorem")
    child.sendintr()
    term.wait_text("[interrupted]")
    term.wait_prompt()
    server.wait_for_aborted(1)
    child.send("\x04")
    assert term.wait_exit() == 0


def test_quick_keeps_an_ignored_sigint_ignored(server: StandinServer) -> None:
    # A script's background job (`vllm-chat -q ... &`) must not die of a Ctrl-C meant for
    # the foreground: -q keeps the disposition it was started with.
    server.push(Reply(content="all of it, " * 20, chunk_chars=5, delay=0.02))
    with subprocess.Popen(
        argv(vllm_chat("--url", server.url, "-q", "hi"), sigint="ignored"),
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT,
    ) as child:  # fmt: skip
        assert child.stdout is not None
        assert child.stdout.read1(5)  # the answer has begun
        child.send_signal(signal.SIGINT)
        rest, err = child.communicate(timeout=30)
    assert child.returncode == 0, err
    assert err == b""
    assert rest.endswith(b"all of it, \n")

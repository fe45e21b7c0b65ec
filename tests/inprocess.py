"""The command run inside the test's own process: `vllm_chat.cli.main(ARGS)` with its own streams.

What `vllm-chat ARGS` does with its arguments, the config file, the environment and the
server is decided by `cli.main`; starting a Python process around it is about 0.15 s of
CPU that tests of flags and settings do not need (hundreds of runs: a fifth of the suite).
`run_main` gives it piped standard streams (not terminals, as `run_cli`'s pipes are), the
environment variables asked for, and returns what `subprocess.run` would. What only a real
process can show (start-up imports, signals, SIGPIPE, `python -m`, a terminal) stays with
`tests.test_cli.run_cli` and the pty tests.
"""

from __future__ import annotations

import contextlib
import gc
import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from tests.processes import ROOT


@contextlib.contextmanager
def _environment(changes: dict[str, str], cwd: Path) -> Iterator[None]:
    """os.environ with `changes`, in folder `cwd`; both put back as they were afterwards."""
    saved, saved_cwd = dict(os.environ), os.getcwd()  # contextlib.chdir: Python 3.11+
    os.environ.update(changes)
    os.chdir(cwd)
    try:
        yield
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved)


def _pipe(data: bytes = b"", *, errors: str = "strict") -> io.TextIOWrapper:
    """A text stream over bytes, as Python opens a piped standard stream (UTF-8)."""
    return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", errors=errors, write_through=True)


def run_main(
    *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    """`vllm-chat ARGS` in this process, stdin from `stdin` (else empty), output captured."""
    from vllm_chat import cli

    streams = (_pipe(stdin or b""), _pipe(), _pipe(errors="backslashreplace"))
    saved = (sys.stdin, sys.stdout, sys.stderr)
    sys.stdin, sys.stdout, sys.stderr = streams
    try:
        with _environment(env or {}, ROOT):
            try:
                code = cli.main(list(args))
            except SystemExit as exit_:  # argparse: usage errors, --help, --version
                code = int(exit_.code or 0)
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved
        gc.unfreeze()  # a run freezes what it made just before the process would exit
    out, err = (stream.buffer.getvalue() for stream in streams[1:])  # type: ignore[attr-defined]
    return subprocess.CompletedProcess(["vllm-chat", *args], code, out, err)

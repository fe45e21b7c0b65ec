"""The tests' way of starting programs: Ctrl-C reaches them however the suite was started."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator

import pytest

from tests.processes import ROOT, argv, vllm_chat
from tests.standin import Reply, StandinServer

# How the harness starts programs: proven on each interpreter.
pytestmark = pytest.mark.every_python


@pytest.fixture
def suite_ignores_sigint() -> Iterator[None]:
    """This process ignores SIGINT for the test, as under `trap '' INT`, nohup or CI."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def test_ctrl_c_reaches_the_command_when_the_suite_ignores_it(
    server: StandinServer, suite_ignores_sigint: None
) -> None:
    server.push(Reply(content="word " * 400, chunk_chars=5, delay=0.02))
    with subprocess.Popen(
        argv(vllm_chat("--url", server.url, "-q", "hi")),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    ) as child:
        assert child.stdout is not None
        assert child.stdout.read1(5)  # the answer has begun
        child.send_signal(signal.SIGINT)
        _, err = child.communicate(timeout=30)
    assert child.returncode == 130, err
    assert "[interrupted]" in err.decode()


@pytest.mark.parametrize(("sigint", "ignored"), [("default", False), ("ignored", True)])
def test_the_child_starts_with_the_sigint_asked_for(
    suite_ignores_sigint: None, sigint: str, ignored: bool
) -> None:
    # The kernel's word (a shell's /proc/self/status), not Python's, which installs its
    # own SIGINT handler at start-up.
    done = subprocess.run(
        argv(["sh", "-c", "grep SigIgn /proc/self/status"], sigint=sigint),  # type: ignore[arg-type]
        capture_output=True,
        text=True,
        timeout=30,
    )
    if done.returncode != 0:
        pytest.skip("no /proc/self/status to read signal dispositions from")
    mask = int(done.stdout.split()[1], 16)
    assert bool(mask & 1 << (signal.SIGINT - 1)) is ignored
    assert not mask & 1 << (signal.SIGPIPE - 1)  # back to the default, as subprocess does

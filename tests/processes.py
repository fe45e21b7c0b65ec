"""How tests start programs: every child gets SIGINT as a terminal would give it.

A shell starts background jobs with SIGINT ignored, and so do `nohup` and some CI
runners; an ignored signal stays ignored across fork and exec, so a suite started
that way would hand its children a Ctrl-C that does nothing. Every command a test
starts (in a pseudo-terminal or with pipes) therefore goes through `argv()`: a tiny
Python wrapper that unblocks SIGINT, sets its disposition, then execs the command in
its own place (same process, same pid). No Python code runs between fork and exec in
the test process, which has server threads running (why `preexec_fn` is avoided).

That one door is also where a portability run (`tests/portability.py`) skips a test that
starts a program, unless it is marked `every_python`.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import pexpect

ROOT = Path(__file__).resolve().parent.parent

# -I -S: no site, no PYTHON* variables, so the wrapper starts in a few milliseconds;
# the environment passed to the command is untouched. Python ignores SIGPIPE and
# SIGXFSZ at start-up: they go back to the default, as subprocess does for its children.
_WRAPPER = (
    "import os, sys, _signal as s;"
    "s.pthread_sigmask(s.SIG_UNBLOCK, [s.SIGINT]);"
    "s.signal(s.SIGINT, int(sys.argv[1]));"
    "s.signal(s.SIGPIPE, s.SIG_DFL);"
    "s.signal(s.SIGXFSZ, s.SIG_DFL);"
    "os.execvp(sys.argv[2], sys.argv[2:])"
)

Sigint = Literal["default", "ignored"]

# Set for each test by tests/conftest.py: why it may not start programs, or None.
children_refused: str | None = None


def argv(command: Sequence[str], *, sigint: Sigint = "default") -> list[str]:
    """`command` run with SIGINT at its default (or ignored, to test that case)."""
    if children_refused:
        import pytest

        pytest.skip(children_refused)
    disposition = signal.SIG_DFL if sigint == "default" else signal.SIG_IGN
    return [sys.executable, "-I", "-S", "-c", _WRAPPER, str(int(disposition)), *command]


def vllm_chat(*args: str) -> list[str]:
    """`python -m vllm_chat ARGS`, the real command (not yet wrapped by `argv`)."""
    return [sys.executable, "-m", "vllm_chat", *args]


def spawn_pty(
    command: Sequence[str],
    *,
    rows: int = 40,
    columns: int = 100,
    env: dict[str, str] | None = None,
    cwd: str | Path = ROOT,
    timeout: float = 15,
    sigint: Sigint = "default",
    **kwargs: Any,
) -> pexpect.spawn:
    """`command` in a pseudo-terminal of `rows` x `columns`, read as UTF-8 text."""
    full = argv(command, sigint=sigint)
    return pexpect.spawn(
        full[0],
        full[1:],
        env=dict(os.environ) if env is None else env,
        cwd=str(cwd),
        dimensions=(rows, columns),
        encoding="utf-8",
        timeout=timeout,
        **kwargs,
    )


def unprivileged() -> tuple[list[str], int, int] | None:
    """(prefix, uid, gid) to run a command as an unprivileged user when tests run as root.

    Root reads and writes files whatever their modes, so a test of what a user meets
    with an unreadable file needs another user: `nobody`, through `setpriv` or
    `runuser`. Not root: no prefix, this user. None: root, and neither tool exists.
    The files the command uses must be reachable by that user.
    """
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return [], os.getuid(), os.getgid()
    try:
        nobody = pwd.getpwnam("nobody")
        uid, gid = nobody.pw_uid, nobody.pw_gid
    except KeyError:
        uid = gid = 65534
    if setpriv := shutil.which("setpriv"):
        return [setpriv, f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--"], uid, gid
    if runuser := shutil.which("runuser"):
        return [runuser, "-u", "nobody", "--"], uid, gid
    return None


def unprivileged_or_skip() -> tuple[list[str], int, int]:
    """`unprivileged()`, checked to run the command; else the test is skipped, saying why."""
    import subprocess

    import pytest

    user = unprivileged()
    if user is None:
        pytest.skip("root, and neither setpriv nor runuser to run as another user")
    prefix, uid, _ = user
    if prefix:
        reach = [*prefix, *vllm_chat("--version")]
        if subprocess.run(argv(reach), capture_output=True, cwd=ROOT, timeout=30).returncode:
            pytest.skip(f"uid {uid} cannot run {sys.executable} on {ROOT}: not readable to all")
    return user

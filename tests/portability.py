"""A portability run: the suite on a Python other than `make test`'s.

`.ci/run` sets VLLM_CHAT_TEST_PORTABILITY=1 for the suites on the other interpreters. Such a
run keeps every test that runs in pytest's own process, and drops what repeats work the
default interpreter's full run already did:

- a test that starts a program is skipped where it starts it (`tests/processes.py`), unless
  it is marked `every_python`: the REPL, Ctrl-C, `-q` and pipes in a real pty, whose
  signals, ptys and pipes could differ between Python versions;
- the fidelity corpus streams each document at one of its widths, in turn, not at all three.

The soak tests are not part of any suite run (`make soak` runs them, once, in CI).
"""

from __future__ import annotations

import os

ON = os.environ.get("VLLM_CHAT_TEST_PORTABILITY") == "1"

CHILDREN_SKIPPED = (
    "starts a program: make test runs it (a portability run, VLLM_CHAT_TEST_PORTABILITY=1,"
    " starts only the every_python ones)"
)

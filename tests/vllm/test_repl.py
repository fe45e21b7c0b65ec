"""The REPL against the real vLLM server, in a pseudo-terminal: what a person sees.

The tiny model's answers are random text, so what is checked is what the client does
with them (turns kept, replaced, removed) and what vLLM reports about the requests it
served (its /metrics), not the words.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable

import pexpect

from tests.processes import spawn_pty, vllm_chat
from tests.test_e2e import COLUMNS, ROWS, Terminal
from tests.vllm.server import RealServer


def finished(vllm: RealServer, reason: str) -> float:
    """How many requests vLLM has finished for this model with `reason`."""
    key = f'vllm:request_success_total{{finished_reason="{reason}",model_name="{vllm.model}"}}'
    return vllm.metrics().get(key, 0.0)


def answered(vllm: RealServer) -> float:
    """Requests vLLM ran to their end (an EOS token or the token limit)."""
    return finished(vllm, "stop") + finished(vllm, "length")


def running(vllm: RealServer) -> float:
    return vllm.metrics().get(f'vllm:num_requests_running{{model_name="{vllm.model}"}}', 0.0)


def eventually(check: Callable[[], bool], what: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def start_repl(
    vllm: RealServer, children: list[pexpect.spawn], *args: str
) -> tuple[pexpect.spawn, Terminal]:
    child = spawn_pty(
        vllm_chat("--url", vllm.url, "--no-history", *args), rows=ROWS, columns=COLUMNS,
        env=vllm.env(), timeout=30,
    )  # fmt: skip
    children.append(child)
    term = Terminal(child)
    term.wait_prompt()
    return child, term


def send(child: pexpect.spawn, term: Terminal, line: str, shows: str = "") -> str:
    """Type `line` and Enter, wait for the next prompt (and `shows`); what came after it."""
    echoed = f"> {line}"
    before = term.seen_text().count(echoed)

    def done() -> bool:
        text = term.seen_text()
        return (
            text.count(echoed) > before and shows in text.rsplit(echoed, 1)[1] and term.at_prompt()
        )

    child.send(line + "\r")
    term.wait(done, f"{shows or 'the prompt'!r} after {line!r}", timeout=30)
    return term.seen_text().rsplit(echoed, 1)[1]


def test_turns_retry_undo_model_and_reset(vllm: RealServer, children) -> None:
    child, term = start_repl(vllm, children, "--max-tokens", "12")
    assert f"model {vllm.model}" in term.seen_text()  # the first model /models lists
    served = answered(vllm)

    send(child, term, "first question")
    send(child, term, "second question")
    assert answered(vllm) == served + 2
    history = send(child, term, "/history", shows="── 2 ·")
    assert "── 1 · you ──\nfirst question" in history
    assert "── 2 · you ──\nsecond question" in history
    assert f"── 2 · {vllm.model} ──" in history

    send(child, term, "/retry")
    assert answered(vllm) == served + 3
    history = send(child, term, "/history", shows="── 2 · you")
    assert "── 3 ·" not in history  # the answer was replaced, not added

    send(child, term, "/undo", shows="removed the last exchange")
    history = send(child, term, "/history", shows="── 1 · you")
    assert "second question" not in history

    models = send(child, term, "/model", shows=vllm.model)
    assert f"* {vllm.model}" in models
    send(child, term, "/reset", shows="conversation cleared (1 turn forgotten)")
    send(child, term, "/history", shows="the conversation is empty")
    child.send("\x04")
    assert term.wait_exit() == 0


def generated(vllm: RealServer) -> float:
    return vllm.metrics().get(f'vllm:generation_tokens_total{{model_name="{vllm.model}"}}', 0.0)


def test_ctrl_c_aborts_the_request_in_vllm_and_the_next_turn_works(
    own_vllm: RealServer, children
) -> None:
    vllm, limit = own_vllm, 1900
    # ignore_eos: the random model may sample its end token early, and end by itself.
    child, term = start_repl(
        vllm, children, "--max-tokens", str(limit), "--extra-body", '{"ignore_eos": true}'
    )
    served, tokens = answered(vllm), generated(vllm)
    aborted, added = vllm.log_count(" aborted."), vllm.log_count("Added request chatcmpl-")

    child.send("tell me a very long story\r")
    # Interrupt as soon as vLLM has the request (its log says so: /metrics may not answer
    # while it streams). (The tiny model decodes so fast on the
    # CPU build that vLLM's API server sometimes sends a whole answer in one burst at its
    # end: waiting for words on the screen could mean waiting for the end.) This is the
    # SIGINT that Ctrl-C makes, sent straight to the foreground process: through the pty
    # the kernel handles ^C only once the client's pending write to the screen is done,
    # and this test's emulator reads the screen slowly. Ctrl-C typed into the pty is
    # tested against the stand-in (tests/test_e2e.py).
    eventually(lambda: vllm.log_count("Added request chatcmpl-") == added + 1, "the request")
    child.kill(signal.SIGINT)
    term.wait_text("interrupted")
    term.wait_prompt()
    # vLLM logged the abort, runs nothing, and stopped short of the limit. (vLLM 0.32 counts
    # an aborted request under no finished_reason of its metrics.)
    eventually(lambda: vllm.log_count(" aborted.") == aborted + 1, "vLLM to log the abort")
    eventually(lambda: running(vllm) == 0, "vLLM to stop running it")
    assert answered(vllm) == served
    assert generated(vllm) - tokens < limit

    # What had arrived is kept, marked partial; if nothing had, nothing is kept.
    if "[interrupted before the answer began]" in term.seen_text():
        send(child, term, "/history", shows="the conversation is empty")
    else:
        send(child, term, "/history", shows=f"── 1 · {vllm.model} (partial) ──")
    send(child, term, "/set max_tokens 8")
    send(child, term, "and now?")
    assert answered(vllm) == served + 1
    child.send("\x04")
    assert term.wait_exit() == 0

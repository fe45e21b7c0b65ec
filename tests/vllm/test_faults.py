"""A failure only the real server makes: its engine dies in the middle of an answer.

vLLM's CPU attention kernel rejects a head size of 16 at the first request: the server
answers 200, sends one error event (`EngineCore encountered an issue`), `[DONE]`, and
exits. A user meets exactly this when a model is not supported by their build.
"""

from __future__ import annotations

import pexpect

from tests.vllm.server import RealServer
from tests.vllm.test_repl import send, start_repl


def test_an_engine_that_dies_mid_stream_is_one_line_and_the_chat_goes_on(
    dying_vllm: RealServer, children: list[pexpect.spawn]
) -> None:
    child, term = start_repl(dying_vllm, children, "--max-tokens", "8")
    shown = send(child, term, "hello", shows="EngineCore encountered an issue")
    errors = [line for line in shown.splitlines() if "EngineCore" in line]
    assert len(errors) == 1, shown
    assert "Traceback" not in term.seen_text()

    # The question is kept for /retry; the server is gone now, and says so in one line.
    dying_vllm.process.wait(60)  # type: ignore[union-attr]
    shown = send(child, term, "/retry", shows="nothing listens on port")
    assert "Traceback" not in shown
    send(child, term, "/history", shows="the conversation is empty")
    child.send("\x04")
    assert term.wait_exit() == 0

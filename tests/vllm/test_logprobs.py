"""Token probabilities against the real vLLM: `-q --json --logprobs`, /alt, the token
view in a terminal, and vLLM's refusal of more than its --max-logprobs."""

from __future__ import annotations

import json
import os
from typing import Any

from tests.processes import spawn_pty, vllm_chat
from tests.repl.test_power import run_repl
from tests.repl.test_repl import CTRL_D
from tests.test_e2e import COLUMNS, ROWS, Terminal
from tests.vllm.server import RealServer
from tests.vllm.test_quick import quick
from vllm_chat.app import make_chat
from vllm_chat.config.settings import Settings

PROMPT = "héllo ünïcode 日本語"
# A random model at a high temperature: tokens that are parts of characters (vLLM sends
# them as "" with no bytes) turn up within 300 tokens for this seed.
RANDOM = {"seed": 3, "temperature": 1.5, "ignore_eos": True}


def streamed_logprobs(vllm: RealServer, top: int, tokens: int) -> tuple[str, list[dict]]:
    """The content and `logprobs.content` entries vLLM streams, read straight from it."""
    chunks = vllm.stream({"messages": [{"role": "user", "content": PROMPT}], "max_tokens": tokens,
                          "logprobs": True, "top_logprobs": top, **RANDOM})  # fmt: skip
    text, entries = [], []
    for chunk in chunks:
        for choice in chunk.get("choices") or []:  # type: ignore[attr-defined]
            text.append(choice["delta"].get("content") or "")
            entries += (choice.get("logprobs") or {}).get("content") or []
    return "".join(text), entries


def quick_json(vllm: RealServer, *args: str) -> dict[str, Any]:
    done = quick(vllm, "--private", "--json", "-q", PROMPT, "--extra-body", json.dumps(RANDOM),
                 *args)  # fmt: skip
    assert done.returncode == 0, done.stderr
    [line] = done.stdout.decode().splitlines()
    return json.loads(line)


def test_json_logprobs_are_vllms_one_per_token_alternatives_sorted(vllm: RealServer) -> None:
    answer = quick_json(vllm, "--logprobs", "4", "--max-tokens", "300")
    content, entries = streamed_logprobs(vllm, 4, 300)
    assert answer["content"] == content
    tokens = answer["logprobs"]
    assert len(tokens) == answer["usage"]["completion_tokens"] == 300
    # vLLM's own entries, with only the alternatives' order changed (it sends the
    # sampled token first).
    assert [(t["token"], t["logprob"], t["bytes"]) for t in tokens] == [
        (e["token"], e["logprob"], e["bytes"]) for e in entries
    ]
    for token, entry in zip(tokens, entries, strict=True):
        assert entry["top_logprobs"][0]["token"] == entry["token"]
        assert token["top_logprobs"] == sorted(entry["top_logprobs"], key=lambda a: -a["logprob"])
    # Parts of characters, as vLLM 0.32 sends them.
    assert ("", []) in [(t["token"], t["bytes"]) for t in tokens]


def test_alt_shows_parts_of_characters_escaped_never_raw(vllm: RealServer, capsys) -> None:
    settings = Settings(url=vllm.url, api_key=vllm.api_key, private=True, logprobs=3,
                        sampling={"max_tokens": 300, **RANDOM})  # fmt: skip
    chat = make_chat(settings)
    run_repl(chat, f"{PROMPT}\r/alt 300\r" + CTRL_D)
    out = capsys.readouterr().out
    table = out.split("the 300 least certain tokens of 300:", 1)[1]
    assert "‹byte›" in table
    assert "\ufffd" not in table


def test_more_than_vllms_max_logprobs_is_one_line_saying_so(vllm: RealServer) -> None:
    done = quick(vllm, "--private", "-q", "hi", "--logprobs", "21", "--max-tokens", "4")
    assert done.returncode == 1
    [line] = done.stderr.decode().splitlines()
    assert "greater than max allowed: 20" in line
    assert line.endswith("(ask for fewer with --logprobs N, or leave it out)")
    assert done.stdout == b""


def test_the_token_view_in_a_terminal(vllm: RealServer, children) -> None:
    seeded = json.dumps({"seed": 1, "ignore_eos": True})
    command = vllm_chat("--url", vllm.url, "--no-history", "--private", "--logprobs",
                        "--max-tokens", "12", "--extra-body", seeded)  # fmt: skip
    child = spawn_pty(command, rows=ROWS, columns=COLUMNS, env=vllm.env(dict(os.environ)))
    children.append(child)
    term = Terminal(child)
    term.wait_prompt()
    child.send("hello\r")
    term.wait_text("tokens: plain ≥ 90 %")
    term.wait_prompt()
    # A random model is unsure of every token: each one shown comes in red.
    lines = term.seen_lines()
    answer_at = next(i for i, line in enumerate(lines) if line.startswith("tokens: plain")) + 1
    rows = [*term.history.top, *(term.buffer[y] for y in range(term.lines))]
    # The answer ends where the note of its cut (a yellow warning) begins.
    note = "the answer stopped at the token limit (max_tokens 12)"
    prompt_at = next(i for i in range(answer_at, len(lines)) if note in lines[i])
    answer = [row[x] for row in rows[answer_at:prompt_at] for x in range(term.columns)
              if row[x].data.strip()]  # fmt: skip
    assert answer and {char.fg for char in answer} == {"red"}
    child.send("/alt 3\r")
    term.wait_text("the 3 least certain tokens of 12:")
    term.wait_prompt()
    child.send(CTRL_D)
    assert term.wait_exit() == 0

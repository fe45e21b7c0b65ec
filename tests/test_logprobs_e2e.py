"""Token probabilities through the real command in a pseudo-terminal: the token view's
colours (or underlines with NO_COLOR) as the screen shows them, and /alt's table."""

from __future__ import annotations

import os

from tests.processes import spawn_pty, vllm_chat
from tests.standin import Reply, StandinServer
from tests.test_e2e import COLUMNS, ROWS, Terminal, spawn

CTRL_D = "\x04"
# Three tokens: "Sure " is certain, "maybe" is not (20 %), " wild" is a long shot (2 %).
ANSWER = Reply(content="Sure maybe wild", chunk_chars=5, logprobs=[-0.01, -1.6, -4.0])


def test_tokens_are_coloured_by_probability_and_alt_lists_them(
    server: StandinServer, children
) -> None:
    server.push(ANSWER)
    child, term = spawn("--url", server.url, "--no-history", "--private", "--logprobs", "2")
    children.append(child)
    term.wait_prompt()
    child.send("go\r")
    term.wait_text("Sure maybe wild")
    term.wait_prompt()
    assert "tokens: plain ≥ 90 %" in term.seen_text()
    row = term.row_with("Sure maybe wild")
    text = "".join(char.data for char in row)
    start = text.index("Sure maybe wild")
    fg = [char.fg for char in row[start : start + len("Sure maybe wild")]]
    assert fg[:5] == ["default"] * 5 and fg[5:10] == ["ff8700"] * 5 and fg[10:] == ["red"] * 5
    child.send("/alt 1\r")
    term.wait_text("the 1 least certain token of 3:")
    term.wait_text("‹byte› 49 %")  # the table's row may come in a later read
    assert '  3  " wild"  1.8 %  ‹byte› 49 %\n' in term.seen_text() + "\n"  # top 2: one other
    term.wait_prompt()
    child.send(CTRL_D)
    assert term.wait_exit() == 0


def test_with_no_color_uncertain_tokens_are_underlined(server: StandinServer, children) -> None:
    server.push(ANSWER)
    command = vllm_chat("--url", server.url, "--no-history", "--private", "--logprobs")
    child = spawn_pty(command, rows=ROWS, columns=COLUMNS, env={**os.environ, "NO_COLOR": "1"})
    children.append(child)
    term = Terminal(child)
    term.wait_prompt()
    child.send("go\r")
    term.wait_text("Sure maybe wild")
    term.wait_prompt()
    row = term.row_with("Sure maybe wild")
    start = "".join(char.data for char in row).index("Sure maybe wild")
    shown = row[start : start + len("Sure maybe wild")]
    assert {char.fg for char in shown} == {"default"}
    assert [char.underscore for char in shown] == [False] * 5 + [True] * 10
    assert [char.bold for char in shown] == [False] * 10 + [True] * 5
    child.send(CTRL_D)
    assert term.wait_exit() == 0


def test_json_without_q_is_a_usage_error(children) -> None:
    child, term = spawn("--json", "--no-history", "--private")
    children.append(child)
    term.wait_text("error: --json goes with -q: it prints one answer as JSON")
    assert term.wait_exit() == 2

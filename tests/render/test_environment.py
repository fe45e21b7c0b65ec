"""The terminal's facts, decided once in an `Environment`, and what the output makes of them.

Unit tests build an `Environment` explicitly; the end-to-end ones run `vllm-chat -q`
in a pseudo-terminal with `TERM` and `NO_COLOR` set as a person's shell would.
"""

from __future__ import annotations

import io
import os
import re

import pexpect
import pytest

from tests.processes import spawn_pty, vllm_chat
from tests.standin import Reply, StandinServer
from vllm_chat.render.environment import Environment
from vllm_chat.render.plain import PlainRenderer, make_renderer
from vllm_chat.render.stream import MarkdownRenderer, console_for
from vllm_chat.render.text import status_line


class FakeTerminal(io.StringIO):
    """A text stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


# ---- deciding -------------------------------------------------------------------------------


def test_detect_asks_each_stream_and_the_variables_once() -> None:
    out, err = FakeTerminal(), io.StringIO()
    env = Environment.detect(
        stdin=io.StringIO(), stdout=out, stderr=err, environ={"TERM": "xterm-256color"}
    )
    assert (env.stdin_isatty, env.stdout_isatty, env.stderr_isatty) == (False, True, False)
    assert (env.no_color, env.dumb, env.cpr, env.width) == (False, False, True, None)
    assert env.markdown
    assert env.color(out) and not env.color(err)


@pytest.mark.parametrize(
    ("environ", "color", "markdown", "cpr"),
    [
        ({"NO_COLOR": "1"}, False, True, True),
        ({"NO_COLOR": ""}, True, True, True),  # no-color.org: set and not empty
        ({"TERM": "dumb"}, False, False, False),
        ({"PROMPT_TOOLKIT_NO_CPR": "1"}, True, True, False),
    ],
    ids=["NO_COLOR", "NO_COLOR-empty", "TERM-dumb", "PROMPT_TOOLKIT_NO_CPR"],
)
def test_the_variables_decide_colour_markdown_and_cursor_reports(
    environ: dict[str, str], color: bool, markdown: bool, cpr: bool
) -> None:
    out = FakeTerminal()
    env = Environment.detect(stdout=out, stderr=out, environ=environ)
    assert (env.color(out), env.markdown, env.cpr) == (color, markdown, cpr)


def test_a_closed_or_missing_stream_is_no_terminal() -> None:
    closed = FakeTerminal()
    closed.close()
    env = Environment.detect(stdout=closed, environ={})
    assert not env.stdout_isatty and not env.markdown
    assert not env.isatty(None)


def test_a_stream_the_environment_does_not_hold_is_asked() -> None:
    env = Environment(stdout=io.StringIO(), stdout_isatty=False)
    assert env.isatty(FakeTerminal()) and not env.isatty(io.StringIO())


# ---- what the output makes of it --------------------------------------------------------


def test_the_renderer_is_chosen_by_the_environment() -> None:
    out = io.StringIO()  # not a terminal itself: only the environment's word counts
    assert isinstance(make_renderer(Environment(stdout=out, stdout_isatty=True)), MarkdownRenderer)
    dumb = Environment(stdout=out, stdout_isatty=True, dumb=True)
    assert isinstance(make_renderer(dumb), PlainRenderer)
    assert isinstance(make_renderer(Environment(stdout=out)), PlainRenderer)


def test_the_plain_renderer_takes_the_environments_word_for_the_terminal() -> None:
    out, side = io.StringIO(), io.StringIO()
    env = Environment(stdout=out, stderr=side, stdout_isatty=True, stderr_isatty=True)
    renderer = PlainRenderer(out, side, env=env)
    renderer.feed_reasoning("hmm")
    renderer.feed("a\x1b]52;c;cm0gLXJm\x07b")
    renderer.finish()
    assert out.getvalue() == "ab\n"  # sanitised, as on a terminal
    assert side.getvalue() == "\x1b[2;1mThinking…\n\x1b[0m\x1b[2mhmm\x1b[0m\n\n"

    piped = io.StringIO()
    renderer = PlainRenderer(piped, side, env=Environment(stdout=piped, stderr=side))
    renderer.feed("a\x1b]52;c;cm0gLXJm\x07b")
    renderer.finish()
    assert piped.getvalue() == "a\x1b]52;c;cm0gLXJm\x07b\n"  # data, byte for byte


@pytest.mark.parametrize(
    ("facts", "line"),
    [
        ({"stderr_isatty": True}, "\x1b[1;31merror: boom\x1b[0m\n"),
        ({"stderr_isatty": True, "no_color": True}, "error: boom\n"),
        ({"stderr_isatty": True, "dumb": True}, "error: boom\n"),
        ({}, "error: boom\n"),
    ],
    ids=["terminal", "NO_COLOR", "TERM-dumb", "pipe"],
)
def test_status_lines_are_coloured_only_where_the_environment_says(
    facts: dict[str, bool], line: str
) -> None:
    err = io.StringIO()
    status_line("boom", kind="error", env=Environment(stderr=err, **facts))
    assert err.getvalue() == line


def test_the_markdown_console_follows_the_environment() -> None:
    out = io.StringIO()
    console = console_for(Environment(stdout=out, stdout_isatty=True, no_color=True, width=33))
    assert console.file is out and console.is_terminal
    assert console.no_color and console.width == 33
    renderer = MarkdownRenderer(env=Environment(stdout=out, stdout_isatty=True, width=33))
    renderer.feed("# Title\n\nsome **bold** words\n")
    renderer.finish()
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[78]", "", out.getvalue())
    assert "Title" in text and "some bold words" in text and "**" not in text


# ---- in a pseudo-terminal ---------------------------------------------------------------


def quick_in_a_pty(server: StandinServer, **variables: str) -> str:
    """What `vllm-chat --stats -q hi` writes to a terminal, raw, with `variables` set."""
    env = {**os.environ, **variables}
    child = spawn_pty(vllm_chat("--url", server.url, "--stats", "-q", "hi"), env=env)
    try:
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0, child.before
    return str(child.before)


ANSWER = "some **bold** words\n"


def test_a_terminal_gets_markdown_and_colour(server: StandinServer) -> None:
    server.push(Reply(content=ANSWER))
    raw = quick_in_a_pty(server, TERM="xterm-256color")
    assert "**bold**" not in raw and "bold" in raw
    assert re.search(r"\x1b\[2mTTFT [^\n]*tokens\x1b\[0m", raw), repr(raw)


def test_no_color_keeps_the_markdown_and_drops_the_colour(server: StandinServer) -> None:
    server.push(Reply(content=ANSWER))
    raw = quick_in_a_pty(server, TERM="xterm-256color", NO_COLOR="1")
    assert "**bold**" not in raw and "bold" in raw
    stats = re.search(r"(.{5})TTFT([^\n]*)", raw)
    assert stats and not stats.group(1).endswith("m") and "\x1b" not in stats.group(2), repr(raw)


def test_a_dumb_terminal_gets_plain_text_and_no_escape_sequence(server: StandinServer) -> None:
    server.push(Reply(content=ANSWER))
    raw = quick_in_a_pty(server, TERM="dumb")
    assert "some **bold** words" in raw
    assert "\x1b" not in raw, repr(raw)

"""End to end in a pseudo-terminal: what a person at a real terminal would see.

The child's output is fed to a `pyte` terminal emulator, which also answers the
cursor position requests prompt_toolkit sends, as a real terminal does; the
assertions read the emulated screen (and the lines scrolled off its top).
"""

from __future__ import annotations

import re
import termios
import time
from collections.abc import Callable
from pathlib import Path

import pexpect
import pyte
import pytest

from tests.emulator import ScrollbackScreen
from tests.processes import spawn_pty, vllm_chat
from tests.standin import Reply, StandinServer

# The REPL, Ctrl-C and -q in a real pty: proven on each interpreter (tests/processes.py).
pytestmark = pytest.mark.every_python

ROWS, COLUMNS = 40, 100
ROOT = Path(__file__).resolve().parent.parent


class Terminal(ScrollbackScreen):
    """A screen that shows what the child wrote, and answers it like a terminal."""

    def __init__(self, child: pexpect.spawn) -> None:
        super().__init__(COLUMNS, ROWS, history=5000)
        self.child = child
        self.stream = pyte.Stream(self)
        child.logfile_read = self

    # pexpect's logfile interface: everything read from the child comes through here.
    def write(self, data: str) -> None:
        self.stream.feed(data)

    def flush(self) -> None:
        pass

    # pyte calls this to answer a device status report (the cursor position).
    def write_process_input(self, data: str) -> None:
        self.child.send(data)

    def seen_lines(self) -> list[str]:
        """Every line: those scrolled off the top, then the screen's."""
        top = ["".join(line[x].data for x in range(self.columns)) for line in self.history.top]
        return [line.rstrip() for line in [*top, *self.display]]

    def row_with(self, text: str) -> list[pyte.screens.Char]:
        """The characters of the last line that shows `text`."""
        rows = [*self.history.top, *(self.buffer[y] for y in range(self.lines))]
        for row in reversed(rows):
            chars = [row[x] for x in range(self.columns)]
            if text in "".join(char.data for char in chars):
                return chars
        raise AssertionError(f"{text!r} is not on the screen:\n{self.seen_text()}")

    def seen_text(self) -> str:
        return "\n".join(self.seen_lines())

    def at_prompt(self) -> bool:
        """The cursor sits after an empty `> ` prompt."""
        return self.display[self.cursor.y].rstrip() == ">" and self.cursor.x == 2

    def wait(self, done: Callable[[], bool], what: str, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; screen:\n{self.seen_text()}")
            try:
                self.child.read_nonblocking(4096, timeout=0.1)
            except pexpect.TIMEOUT:
                pass
            except pexpect.EOF:
                if done():
                    return
                screen = self.seen_text()
                raise AssertionError(f"EOF while waiting for {what}; screen:\n{screen}") from None

    def wait_text(self, text: str) -> None:
        self.wait(lambda: text in self.seen_text(), repr(text))

    def wait_prompt(self) -> None:
        self.wait(self.at_prompt, "the prompt")

    def wait_exit(self) -> int:
        self.wait(lambda: not self.child.isalive(), "the exit")
        self.child.expect(pexpect.EOF)
        self.child.close()
        assert self.child.signalstatus is None
        return self.child.exitstatus


def spawn(*args: str) -> tuple[pexpect.spawn, Terminal]:
    """`vllm-chat ARGS` in a pseudo-terminal of ROWS x COLUMNS, and the screen it draws."""
    child = spawn_pty(vllm_chat(*args), rows=ROWS, columns=COLUMNS)
    return child, Terminal(child)


def assert_rendered_markdown(text: str) -> None:
    """The sample's table and code are shown, rendered: no Markdown syntax left."""
    assert "Streaming Markdown demo" in text
    assert "Feature" in text and "Supported" in text and "Notes" in text
    assert "server-sent events" in text
    assert "def fibonacci(n: int) -> list[int]:" in text
    assert "print(fibonacci(10))" in text
    assert "standin server" in text
    # Code is shown as exactly its code, between its (dim) fence lines: copyable as Markdown.
    assert re.search(r"^```python\ndef fibonacci\(n: int\) -> list\[int\]:$", text, re.M)
    assert re.search(r"^print\(fibonacci\(10\)\)\n```$", text, re.M)
    assert "**" not in text
    assert "# Streaming" not in text
    assert "|-----" not in text


def test_interactive_session(server: StandinServer, tmp_path: Path, children) -> None:
    child, term = spawn("--url", server.url, "--history-file", str(tmp_path / "h"))
    children.append(child)
    term.wait_prompt()
    start = term.seen_text()
    assert server.url in start
    assert "model standin-model" in start

    child.send("hello there\r")
    term.wait_text("You said: hello there")
    term.wait_prompt()

    # Tab completes the command name.
    child.send("/mo\t")
    term.wait(lambda: term.display[term.cursor.y].startswith("> /model"), "the completion")
    child.send(" standin-model-large\r")
    term.wait_text("model: standin-model-large")
    term.wait_prompt()

    child.send("show me markdown\r")
    term.wait_text("That is all for this demo.")
    term.wait_prompt()
    answer = term.seen_text().split("> show me markdown", 1)[1]
    assert_rendered_markdown(answer)
    assert server.requests[-1]["model"] == "standin-model-large"
    assert [request["messages"][-1]["content"] for request in server.requests] == [
        "hello there",
        "show me markdown",
    ]

    child.send("\x04")
    assert term.wait_exit() == 0
    assert "WARNING" not in term.seen_text()  # e.g. about cursor position requests
    history = (tmp_path / "h").read_text()
    for entry in ("hello there", "/model standin-model-large", "show me markdown"):
        assert f"+{entry}\n" in history


def interrupt_an_answer(server: StandinServer, children) -> tuple[Terminal, list[str], str]:
    """Start a slow answer, press Ctrl-C in the middle, then send "next".

    Returns the terminal, the screen lines from "> go" up to "[interrupted]",
    and the partial answer the conversation kept (as the next request shows it).
    """
    server.push(Reply(content="lorem ipsum " * 60, chunk_chars=4, delay=0.05))
    child, term = spawn("--url", server.url, "--no-history")
    children.append(child)
    term.wait_prompt()
    child.send("go\r")
    term.wait_text("lorem ipsum lorem")
    child.sendintr()
    term.wait_text("[interrupted]")
    term.wait_prompt()
    child.send("next\r")
    term.wait_text("You said: next")
    term.wait_prompt()
    child.send("\x04")
    assert term.wait_exit() == 0
    lines = term.seen_lines()
    shown = lines[lines.index("> go") + 1 : lines.index("[interrupted]")]
    messages = server.requests[-1]["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    return term, shown, messages[1]["content"]


def test_ctrl_c_stops_the_answer_and_keeps_the_session(server: StandinServer, children) -> None:
    term, shown, partial = interrupt_an_answer(server, children)
    assert partial.startswith("lorem ipsum lorem")
    assert len(partial) < len("lorem ipsum " * 60)  # the answer really was cut short
    server.wait_for_aborted(1)  # the server saw the client hang up (at its next write)
    assert server.aborted == 1
    assert "You said: next" in term.seen_text()


def test_ctrl_c_shows_the_partial_answer_once(server: StandinServer, children) -> None:
    _, shown, partial = interrupt_an_answer(server, children)
    assert " ".join(shown).split() == partial.split()


def test_enter_typed_during_an_answer_sends_the_line(server: StandinServer, children) -> None:
    server.push(Reply(content="lorem ipsum " * 20, chunk_chars=4, delay=0.05))
    child, term = spawn("--url", server.url, "--no-history")
    children.append(child)
    term.wait_prompt()
    child.send("go\r")
    term.wait_text("lorem ipsum")
    child.send("next question\r")  # typed ahead, before the answer is over

    def continuation_line() -> bool:
        return term.display[term.cursor.y].startswith("\u2026")  # the "…" of a 2nd line

    term.wait(
        lambda: "You said: next question" in term.seen_text() or continuation_line(),
        "the typed-ahead line to be sent or left in the input",
    )
    assert "You said: next question" in term.seen_text()
    assert [request["messages"][-1]["content"] for request in server.requests] == [
        "go",
        "next question",
    ]


def test_a_line_typed_before_the_first_prompt_is_sent(server: StandinServer, children) -> None:
    server.models_delay = 1.0  # the start line, and so the prompt, wait for the model list
    child, term = spawn("--url", server.url, "--no-history")
    children.append(child)

    def waiting_quietly() -> bool:  # started, echo off, and no prompt drawn yet
        echo = termios.tcgetattr(child.child_fd)[3] & termios.ECHO
        return not echo and "vllm-chat" not in term.seen_text()

    term.wait(waiting_quietly, "the start, before the prompt")
    child.send("typed early\r")  # a terminal sends CR for Enter
    term.wait_text("You said: typed early")
    assert [request["messages"][-1]["content"] for request in server.requests] == ["typed early"]


def test_quick_in_a_terminal_renders_markdown(server: StandinServer, children) -> None:
    child, term = spawn("--url", server.url, "-q", "show me markdown")
    children.append(child)
    assert term.wait_exit() == 0
    assert_rendered_markdown(term.seen_text())
    assert "That is all for this demo." in term.seen_text()


def test_reasoning_shows_thinking_then_reasoning_then_answer(
    server: StandinServer, children
) -> None:
    child, term = spawn("--url", server.url, "-q", "please think")
    children.append(child)
    assert term.wait_exit() == 0
    lines = [line for line in term.seen_lines() if line.strip()]
    thinking = next(i for i, line in enumerate(lines) if line.startswith("Thinking"))
    reasoning = lines.index("Let me think about that step by step.")
    answer = lines.index("Here is my considered answer.")
    assert thinking < reasoning < answer
    # The reasoning is set apart from the answer (italic), the answer is plain text.
    assert all(char.italics for char in term.row_with("step by step")[:10])
    assert not any(char.italics for char in term.row_with("considered answer")[:10])

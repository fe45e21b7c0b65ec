"""Keys, the toolbar and start-up warnings, as a person at a real terminal meets them.

Every test runs the real command in a pseudo-terminal against the stand-in server
and reads the emulated screen (see `tests/test_e2e.py`).
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest

from tests.ports import closed_port
from tests.processes import spawn_pty, vllm_chat
from tests.standin import Reply, StandinServer
from tests.test_e2e import COLUMNS, ROWS, Terminal

CTRL_D, CTRL_R, CTRL_X, CTRL_E, ESC = "\x04", "\x12", "\x18", "\x05", "\x1b"


def paste(text: str) -> str:
    return "\x1b[200~" + text + "\x1b[201~"


class SilentTerminal(Terminal):
    """A terminal that never answers cursor position requests (some tmux setups do so)."""

    def write_process_input(self, data: str) -> None:
        pass


@pytest.fixture
def start(children: list[pexpect.spawn]) -> Iterator:
    """Start `vllm-chat ARGS` in a pty with extra environment; its screen is returned."""

    def run(
        *args: str, env: dict[str, str] | None = None, terminal: type[Terminal] = Terminal
    ) -> tuple[pexpect.spawn, Terminal]:
        child = spawn_pty(
            vllm_chat(*args), rows=ROWS, columns=COLUMNS, env={**os.environ, **(env or {})}
        )
        children.append(child)
        return child, terminal(child)

    yield run


def sent(server: StandinServer) -> list[str]:
    return [request["messages"][-1]["content"] for request in server.requests]


def prompt_line(term: Terminal) -> str:
    return term.display[term.cursor.y].rstrip()


def wait_prompt_with(term: Terminal, text: str) -> None:
    """The cursor sits at the end of `> text` (text typed or brought back, not sent)."""
    term.wait(
        lambda: prompt_line(term) == f"> {text}" and term.cursor.x == 2 + len(text),
        f"the prompt to hold {text!r}",
    )


def ask(child: pexpect.spawn, term: Terminal, line: str) -> None:
    child.send(line + "\r")
    term.wait_text(f"You said: {line}")
    term.wait_prompt()


def search_for_alpha(child: pexpect.spawn, term: Terminal) -> None:
    """Send two messages, then Ctrl-R `alpha`: the search shows the first one."""
    term.wait_prompt()
    ask(child, term, "alpha one")
    ask(child, term, "beta two")
    child.send(CTRL_R + "alpha")
    term.wait_text("I-search backward: alpha")


def quit_at_the_prompt(child: pexpect.spawn, term: Terminal) -> None:
    term.wait_prompt()
    child.send(CTRL_D)
    assert term.wait_exit() == 0


# ---- Ctrl-R ---------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", [(), ("--vi",)], ids=["emacs", "vi"])
def test_ctrl_r_then_enter_sends_the_found_entry(
    server: StandinServer, start, mode: tuple[str, ...]
) -> None:
    child, term = start("--url", server.url, "--no-history", *mode)
    search_for_alpha(child, term)
    child.send("\r")
    term.wait(lambda: term.seen_text().count("You said: alpha one") == 2, "the found entry sent")
    quit_at_the_prompt(child, term)
    assert sent(server) == ["alpha one", "beta two", "alpha one"]


def test_ctrl_r_then_esc_accepts_the_entry_for_editing(server: StandinServer, start) -> None:
    child, term = start("--url", server.url, "--no-history")
    search_for_alpha(child, term)
    child.send(ESC)
    term.wait(lambda: prompt_line(term) == "> alpha one", "the entry back at the prompt")
    child.send(CTRL_E + " more\r")  # still editable; then Enter sends it
    term.wait_text("You said: alpha one more")
    quit_at_the_prompt(child, term)
    assert sent(server) == ["alpha one", "beta two", "alpha one more"]


def test_ctrl_r_then_an_arrow_accepts_the_entry_for_editing(server: StandinServer, start) -> None:
    child, term = start("--url", server.url, "--no-history")
    search_for_alpha(child, term)
    child.send("\x1b[C")  # Right
    term.wait(lambda: prompt_line(term) == "> alpha one", "the entry back at the prompt")
    child.send(CTRL_E + "!\r")
    term.wait_text("You said: alpha one!")
    quit_at_the_prompt(child, term)
    assert sent(server) == ["alpha one", "beta two", "alpha one!"]


def test_ctrl_c_gives_the_search_up(server: StandinServer, start) -> None:
    child, term = start("--url", server.url, "--no-history")
    term.wait_prompt()
    ask(child, term, "alpha one")
    child.send("draft" + CTRL_R + "alpha")
    term.wait_text("I-search backward: alpha")
    child.send("\x03")
    wait_prompt_with(term, "draft")
    child.send(" kept\r")
    term.wait_text("You said: draft kept")
    quit_at_the_prompt(child, term)
    assert sent(server) == ["alpha one", "draft kept"]


# ---- --vi -----------------------------------------------------------------------------------


def test_vi_enter_after_esc_sends(server: StandinServer, start) -> None:
    child, term = start("--url", server.url, "--no-history", "--vi")
    term.wait_prompt()
    child.send("hello vi")
    wait_prompt_with(term, "hello vi")
    child.send(ESC)
    time.sleep(0.5)  # a person's pause: well under the second Esc used to wait for a key
    child.send("\r")
    term.wait_text("You said: hello vi")
    quit_at_the_prompt(child, term)
    assert sent(server) == ["hello vi"]


def test_vi_keeps_its_ways_to_a_new_line(server: StandinServer, start) -> None:
    child, term = start("--url", server.url, "--no-history", "--vi")
    term.wait_prompt()
    # `o` in normal mode opens a line below.
    child.send("one")
    wait_prompt_with(term, "one")
    child.send(ESC)
    term.wait(lambda: term.cursor.x == 4, "normal mode (the cursor steps back)")
    child.send("otwo\r")
    term.wait_text("You said: one")
    term.wait_prompt()
    # Ctrl-J, and Alt-Enter typed as one chord.
    child.send("three\nfour\r")
    term.wait_text("four")
    term.wait_prompt()
    child.send("five\x1b\rsix\r")
    term.wait_text("six")
    quit_at_the_prompt(child, term)
    assert sent(server) == ["one\ntwo", "three\nfour", "five\nsix"]


# ---- triple quotes -------------------------------------------------------------------------


def test_triple_quotes_open_a_block_only_on_a_line_of_their_own(
    server: StandinServer, start
) -> None:
    child, term = start("--url", server.url, "--no-history")
    term.wait_prompt()
    child.send('"""docstring here\r')
    term.wait_text('You said: """docstring here')
    term.wait_prompt()
    child.send('"""\rline one\rline two\r"""\r')
    term.wait_text("line two")
    term.wait_prompt()
    quit_at_the_prompt(child, term)
    assert sent(server) == ['"""docstring here', "line one\nline two"]


@pytest.mark.parametrize(
    "pasted", ['"""\nfirst\nsecond', '"""\nfirst\nsecond\n"""'], ids=["open", "closed"]
)
def test_a_paste_starting_with_triple_quotes_is_sent_as_pasted(
    server: StandinServer, start, pasted: str
) -> None:
    child, term = start("--url", server.url, "--no-history")
    term.wait_prompt()
    child.send(paste(pasted))
    term.wait(lambda: "second" in prompt_line(term) or '"""' in prompt_line(term), "the paste")
    child.send("\r")
    term.wait_text("You said:")
    quit_at_the_prompt(child, term)
    assert sent(server) == [pasted]


# ---- Ctrl-D while an answer streams ---------------------------------------------------------


def test_ctrl_d_during_an_answer_is_dropped_and_other_keys_kept(
    server: StandinServer, start
) -> None:
    server.push(Reply(content="lorem ipsum " * 20, chunk_chars=4, delay=0.05))
    child, term = start("--url", server.url, "--no-history")
    term.wait_prompt()
    child.send("go\r")
    term.wait_text("lorem ipsum")
    child.send(CTRL_D + "ne" + CTRL_D + "xt\r")  # typed ahead while the answer streams
    term.wait_text("You said: next")
    term.wait_prompt()
    assert child.isalive()  # Ctrl-D quit nothing
    ask(child, term, "still here")
    quit_at_the_prompt(child, term)  # Ctrl-D at an empty prompt still exits
    assert sent(server) == ["go", "next", "still here"]
    assert len(server.requests[0]["messages"]) == 1
    assert server.aborted == 0  # the answer was not stopped either


def test_ctrl_d_alone_during_an_answer_leaves_the_prompt_waiting(
    server: StandinServer, start
) -> None:
    server.push(Reply(content="lorem ipsum " * 20, chunk_chars=4, delay=0.05))
    child, term = start("--url", server.url, "--no-history")
    term.wait_prompt()
    child.send("go\r")
    term.wait_text("lorem ipsum")
    child.send(CTRL_D)
    term.wait(lambda: term.seen_text().count("lorem") == 20 and term.at_prompt(), "the answer")
    ask(child, term, "after")  # the session is still there
    quit_at_the_prompt(child, term)
    assert sent(server) == ["go", "after"]


# ---- the toolbar ---------------------------------------------------------------------------


def toolbar(term: Terminal) -> str | None:
    """The bottom toolbar's text (a reverse-video line below the prompt), if shown."""
    for y in range(term.cursor.y + 1, ROWS):
        row = term.buffer[y]
        if row[1].reverse:
            return "".join(row[x].data for x in range(COLUMNS)).strip()
    return None


def dead_url() -> str:
    return f"http://127.0.0.1:{closed_port()}/v1"  # nothing listens, nor will


@pytest.mark.parametrize(
    ("env", "terminal"),
    [({"PROMPT_TOOLKIT_NO_CPR": "1"}, Terminal), ({}, SilentTerminal)],
    ids=["PROMPT_TOOLKIT_NO_CPR", "terminal-never-answers-CPR"],
)
def test_toolbar_shows_without_cursor_position_reports(
    server: StandinServer, start, env: dict[str, str], terminal: type[Terminal]
) -> None:
    child, term = start("--url", server.url, "--no-history", env=env, terminal=terminal)
    term.wait_prompt()
    term.wait(lambda: toolbar(term) == "standin-model", "the toolbar")
    ask(child, term, "hello")
    term.wait(lambda: "TTFT" in (toolbar(term) or ""), "the toolbar after an answer")
    assert "tokens" in toolbar(term)
    quit_at_the_prompt(child, term)
    assert "WARNING" not in term.seen_text()


def test_toolbar_says_offline_when_the_model_list_failed(start) -> None:
    child, term = start("--url", dead_url(), "--no-history")
    term.wait_prompt()
    term.wait(lambda: toolbar(term) == "model: offline", "the toolbar to say offline")
    quit_at_the_prompt(child, term)


def test_toolbar_says_401_when_the_key_is_refused(server_factory, start) -> None:
    server = server_factory(api_key="right-key")
    child, term = start("--url", server.url, "--no-history", env={"OPENAI_API_KEY": "wrong"})
    term.wait_prompt()
    term.wait(lambda: toolbar(term) == "model: 401", "the toolbar to say 401")
    quit_at_the_prompt(child, term)


# ---- Ctrl-X Ctrl-E -------------------------------------------------------------------------


def editor_script(tmp_path: Path, body: str) -> str:
    script = tmp_path / "editor.sh"
    script.write_text("#!/bin/sh\n" + body + "\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script)


@pytest.mark.parametrize("mode", [(), ("--vi",)], ids=["ctrl-x-ctrl-e", "vi-v"])
def test_the_editor_brings_the_edit_back_to_the_prompt(
    server: StandinServer, start, tmp_path: Path, mode: tuple[str, ...]
) -> None:
    editor = editor_script(tmp_path, "printf 'edited text\\n' > \"$1\"")
    child, term = start("--url", server.url, "--no-history", *mode, env={"VISUAL": editor})
    term.wait_prompt()
    child.send("draft")
    wait_prompt_with(term, "draft")
    if mode:
        child.send(ESC)
        term.wait(lambda: term.cursor.x == 6, "normal mode")
        child.send("v")
        term.wait(lambda: prompt_line(term) == "> edited text", "the edited text")
        child.send("A")  # append, in insert mode
    else:
        child.send(CTRL_X + CTRL_E)
    wait_prompt_with(term, "edited text")
    child.send(" plus\r")  # reviewed, added to, and only now sent
    term.wait_text("You said: edited text plus")
    quit_at_the_prompt(child, term)
    assert sent(server) == ["edited text plus"]


def test_an_editor_that_fails_leaves_the_line_as_it_was(
    server: StandinServer, start, tmp_path: Path
) -> None:
    editor = editor_script(tmp_path, "printf 'garbage' > \"$1\"; exit 1")
    child, term = start("--url", server.url, "--no-history", env={"VISUAL": editor})
    term.wait_prompt()
    child.send("draft")
    wait_prompt_with(term, "draft")
    child.send(CTRL_X + CTRL_E)
    # (whitespace ignored: the long line wraps where the temporary path makes it)
    term.wait(lambda: "exitedwithstatus1" in "".join(term.seen_text().split()), "the failure")
    wait_prompt_with(term, "draft")
    child.send(" two\r")
    term.wait_text("You said: draft two")
    quit_at_the_prompt(child, term)
    assert sent(server) == ["draft two"]


# ---- start-up warnings ---------------------------------------------------------------------


def test_history_warning_comes_before_the_first_prompt(
    server: StandinServer, start, tmp_path: Path
) -> None:
    folder = tmp_path / "a-folder"
    folder.mkdir()
    child, term = start("--url", server.url, "--history-file", str(folder))
    term.wait(lambda: "history file" in term.seen_text() and term.at_prompt(), "the warning")
    lines = term.seen_lines()
    warning = next(i for i, line in enumerate(lines) if "history file" in line)
    assert lines[warning].startswith("cannot read the history file"), lines[warning]
    banner = next(i for i, line in enumerate(lines) if line.startswith("vllm-chat"))
    assert warning < banner
    ask(child, term, "hello")
    quit_at_the_prompt(child, term)
    assert sum("history file" in line for line in term.seen_lines()) == 1

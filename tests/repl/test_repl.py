"""The interactive loop, driven in-process through prompt_toolkit's pipe input."""

from __future__ import annotations

import re
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from tests.ports import closed_port, hold, release
from tests.standin import Reply, StandinServer
from vllm_chat.app import make_chat
from vllm_chat.chat.session import Chat
from vllm_chat.client.api import Client
from vllm_chat.config.settings import Settings
from vllm_chat.repl import commands
from vllm_chat.repl.commands import COMMANDS, unique_commands
from vllm_chat.repl.prompt import EXIT_HINT, Repl, SlashCompleter

ENTER, CTRL_C, CTRL_D, CTRL_J, ALT_ENTER, UP = "\r", "\x03", "\x04", "\n", "\x1b\r", "\x1b[A"


def paste(text: str) -> str:
    return "\x1b[200~" + text + "\x1b[201~"


def new_chat(url: str, **settings: Any) -> Chat:
    """A chat built the way the command line builds it (stdout not a tty: plain text)."""
    return make_chat(Settings(url=url, **settings))


def drive(chat: Chat, keys: str, history_file: Path | None = None) -> int:
    """Type `keys` into a Repl over `chat` and run it until it returns.

    `keys` must end the session (Ctrl-D or /exit), or the Repl waits for more input.
    """
    with create_pipe_input() as inp:
        inp.send_text(keys)
        repl = Repl(chat, history_file=history_file, input=inp, output=DummyOutput())
        return repl.run()


def sent(server: StandinServer) -> list[str]:
    """The last user message of every chat request, in order."""
    return [request["messages"][-1]["content"] for request in server.requests]


def dead_port() -> int:
    """A loopback port where nothing listens (nor will, while the tests run)."""
    return closed_port()


# ---- conversation -----------------------------------------------------------------------


def test_two_messages_keep_the_conversation(server: StandinServer, capsys) -> None:
    code = drive(new_chat(server.url), "hello\rworld\r" + CTRL_D)
    assert code == 0
    out = capsys.readouterr().out
    assert "You said: hello\n" in out
    assert "You said: world\n" in out
    assert out.index("You said: hello") < out.index("You said: world")
    assert len(server.requests) == 2
    assert server.requests[1]["messages"] == [
        {"role": "user", "content": "hello"},
        {"role": "assistant", "content": "You said: hello"},
        {"role": "user", "content": "world"},
    ]


def test_blank_lines_send_nothing(server: StandinServer) -> None:
    assert drive(new_chat(server.url), "\r   \r" + CTRL_D) == 0
    assert server.requests == []


def test_chat_with_its_default_renderer_prints_the_answer(server: StandinServer, capsys) -> None:
    chat = Chat(Client(server.url))
    assert drive(chat, "hello\r" + CTRL_D) == 0
    assert "You said: hello" in capsys.readouterr().out


# ---- slash commands ---------------------------------------------------------------------


# /help, Tab and README.md come from the one table of commands; these tests read it too.


def test_help_lists_every_command_in_the_registrys_order(
    server: StandinServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert drive(new_chat(server.url), "/help\r" + CTRL_D) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Commands:"
    listed = lines[1 : 1 + len(unique_commands())]
    for line, entry in zip(listed, unique_commands(), strict=True):
        assert line.split()[0] == f"/{entry.name}", (line, entry)
        assert entry.usage in line and entry.summary in line
        assert all(f"/{alias}" in line for alias in entry.aliases)  # aliases are listed too
    assert server.requests == []


@pytest.mark.parametrize("topic", sorted(COMMANDS))
def test_help_for_one_command(
    server: StandinServer, capsys: pytest.CaptureFixture[str], topic: str
) -> None:
    entry = COMMANDS[topic]
    assert drive(new_chat(server.url), f"/help /{topic.upper()}\r" + CTRL_D) == 0
    out = capsys.readouterr().out
    assert out.startswith(entry.usage)
    assert entry.summary in out
    assert all(f"/{alias}" in out for alias in entry.aliases)
    assert "Commands:" not in out


def readme_commands() -> list[tuple[str, list[str]]]:
    """README.md's "In the chat" table: each row's first cell, as its backticked items."""
    text = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    table = text.split("| command | what it does |\n| --- | --- |\n", 1)[1].split("\n\n", 1)[0]
    rows = []
    for row in table.splitlines():
        cell = row.split(" | ", 1)[0].removeprefix("| ").replace("\\|", "|")
        rows.append((cell, re.findall(r"`([^`]+)`", cell)))
    return rows


def test_readme_lists_every_command_as_help_does_in_its_order() -> None:
    rows = readme_commands()
    assert [items[0].split()[0] for _, items in rows] == [
        f"/{entry.name}" for entry in unique_commands()
    ]
    for (cell, items), entry in zip(rows, unique_commands(), strict=True):
        # The usage /help shows, then each alias: `/reset`, `/clear`.
        expected = [entry.usage, *(f"/{alias}" for alias in entry.aliases)]
        assert items == expected, cell
        assert cell == ", ".join(f"`{item}`" for item in expected), cell


def test_system_prompt_show_set_and_clear(server: StandinServer, capsys) -> None:
    keys = "/system\r/system Be brief\r/system\rfirst\r/system clear\rsecond\r" + CTRL_D
    assert drive(new_chat(server.url), keys) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "no system prompt is set"
    assert "system prompt: Be brief" in out
    assert server.requests[0]["messages"] == [
        {"role": "system", "content": "Be brief"},
        {"role": "user", "content": "first"},
    ]
    assert "system prompt cleared" in out
    assert [m["role"] for m in server.requests[1]["messages"]] == ["user", "assistant", "user"]


def test_model_lists_models_and_marks_the_current_one(server: StandinServer, capsys) -> None:
    chat = new_chat(server.url)
    chat.ensure_model()  # as the command line does before the first prompt
    assert drive(chat, "/model\r" + CTRL_D) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == ["* standin-model", "  standin-model-large"]


def test_model_switches_the_model(server: StandinServer, capsys) -> None:
    keys = "hi\r/model standin-model-large\r/model\rhi again\r" + CTRL_D
    assert drive(new_chat(server.url), keys) == 0
    out = capsys.readouterr().out
    assert "model: standin-model-large" in out
    assert "* standin-model-large" in out
    assert [request["model"] for request in server.requests] == [
        "standin-model",
        "standin-model-large",
    ]


def test_unknown_model_names_the_models_and_changes_nothing(server: StandinServer, capsys) -> None:
    keys = "hi\r/model nosuch\rhi again\r" + CTRL_D
    assert drive(new_chat(server.url), keys) == 0
    err = capsys.readouterr().err
    assert "nosuch" in err
    assert "standin-model" in err and "standin-model-large" in err
    assert [request["model"] for request in server.requests] == ["standin-model"] * 2


@pytest.mark.parametrize("name", ["/reset", "/clear"])
def test_reset_forgets_turns_but_keeps_the_system_prompt(
    server: StandinServer, capsys, name: str
) -> None:
    chat = new_chat(server.url, system_prompt="Be brief")
    assert drive(chat, f"one\rtwo\r{name}\rthree\r" + CTRL_D) == 0
    assert "2 turns forgotten" in capsys.readouterr().out
    assert server.requests[-1]["messages"] == [
        {"role": "system", "content": "Be brief"},
        {"role": "user", "content": "three"},
    ]


@pytest.mark.parametrize("name", ["/exit", "/quit", "/EXIT"])
def test_exit_commands_end_the_session(server: StandinServer, name: str) -> None:
    # If the command did not end the session, "after" would be sent and Ctrl-D end it.
    assert drive(new_chat(server.url), f"before\r{name}\rafter\r" + CTRL_D) == 0
    assert sent(server) == ["before"]


def test_unknown_command_suggests_the_right_one(server: StandinServer, capsys) -> None:
    assert drive(new_chat(server.url), "/modle\rstill here\r" + CTRL_D) == 0
    captured = capsys.readouterr()
    assert "/modle" in captured.err
    assert "did you mean /model?" in captured.err
    assert sent(server) == ["still here"]


def test_double_slash_sends_a_message_starting_with_slash(server: StandinServer, capsys) -> None:
    assert drive(new_chat(server.url), "//etc\r" + CTRL_D) == 0
    assert sent(server) == ["/etc"]
    assert "You said: /etc" in capsys.readouterr().out


# ---- multiline input --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ('"""\rline one\rline two\r"""\r', "line one\nline two"),
        ("a" + ALT_ENTER + "b\r", "a\nb"),
        ("a" + CTRL_J + "b\r", "a\nb"),
        (paste("one\ntwo\nthree") + "\r", "one\ntwo\nthree"),
        ('"""docstring here\r', '"""docstring here'),
        (paste('"""\none\ntwo') + "\r", '"""\none\ntwo'),
        (paste('"""\none\n"""') + "\r", '"""\none\n"""'),
        ('"""\rcode"""\r', "code"),
    ],
    ids=[
        "triple-quotes",
        "alt-enter",
        "ctrl-j",
        "bracketed-paste",
        "quotes-then-text",
        "pasted-open-block",
        "pasted-closed-block",
        "closing-quotes-end-a-line",
    ],
)
def test_multiline_input_is_one_message(server: StandinServer, keys: str, message: str) -> None:
    assert drive(new_chat(server.url), keys + CTRL_D) == 0
    assert sent(server) == [message]


def test_a_block_is_recalled_as_the_message_it_sent(server: StandinServer, tmp_path: Path) -> None:
    history = tmp_path / "history"
    assert drive(new_chat(server.url), '"""\rone\rtwo\r"""\r' + CTRL_D, history) == 0
    assert drive(new_chat(server.url), UP + "\r" + CTRL_D, history) == 0
    assert sent(server) == ["one\ntwo", "one\ntwo"]


# ---- Ctrl-C -------------------------------------------------------------------------------


def test_ctrl_c_clears_a_non_empty_line(server: StandinServer, capsys) -> None:
    assert drive(new_chat(server.url), "junk" + CTRL_C + "real\r" + CTRL_D) == 0
    assert sent(server) == ["real"]
    assert EXIT_HINT not in capsys.readouterr().out


def test_ctrl_c_on_an_empty_line_hints_and_stays(server: StandinServer, capsys) -> None:
    assert drive(new_chat(server.url), CTRL_C + "still here\r" + CTRL_D) == 0
    assert sent(server) == ["still here"]
    out = capsys.readouterr().out
    assert "Ctrl-D or /exit to quit" in out


# ---- history ------------------------------------------------------------------------------


def test_history_is_private_and_recalled_by_a_new_session(
    server: StandinServer, tmp_path: Path
) -> None:
    history = tmp_path / "state" / "history"
    assert drive(new_chat(server.url), "/help\rfirst\rsecond\r" + CTRL_D, history) == 0
    assert history.is_file()
    assert stat.S_IMODE(history.stat().st_mode) == 0o600
    assert stat.S_IMODE(history.parent.stat().st_mode) == 0o700
    text = history.read_text()
    for entry in ("/help", "first", "second"):
        assert f"+{entry}\n" in text

    # A new session on the same file: Up brings back the last entry.
    # (Up only as a session's first key: prompt_toolkit loads the history in a task
    # that typed-ahead keys of a later prompt would overtake.)
    assert drive(new_chat(server.url), UP + "\r" + CTRL_D, history) == 0
    assert sent(server) == ["first", "second", "second"]


def test_history_up_twice_reaches_older_entries(server: StandinServer, tmp_path: Path) -> None:
    history = tmp_path / "history"
    assert drive(new_chat(server.url), "first\rsecond\r" + CTRL_D, history) == 0
    assert drive(new_chat(server.url), UP + UP + "\r" + CTRL_D, history) == 0
    assert sent(server) == ["first", "second", "first"]


def test_no_history_file_writes_nothing(server: StandinServer, tmp_path: Path) -> None:
    before = sorted(tmp_path.rglob("*"))
    assert drive(new_chat(server.url), "first\r/help\r" + CTRL_D, None) == 0
    assert sent(server) == ["first"]
    assert sorted(tmp_path.rglob("*")) == before


# ---- Tab completion -----------------------------------------------------------------------


def completions(chat: Chat, text: str) -> list[str]:
    found = SlashCompleter(chat).get_completions(Document(text), CompleteEvent())
    return [Document(text).text[: len(text) + c.start_position] + c.text for c in found]


def test_tab_completes_every_command_name_and_alias(server: StandinServer) -> None:
    chat = new_chat(server.url)
    everything = sorted(f"/{name}" for name in COMMANDS)
    assert completions(chat, "/") == everything
    for name, entry in COMMANDS.items():
        for typed in range(1, len(name) + 1):
            found = completions(chat, "/" + name[:typed].upper())
            assert found == [item for item in everything if item.startswith("/" + name[:typed])]
        assert f"/help {entry.name}" in completions(chat, f"/help {entry.name[:2]}")
    offered = SlashCompleter(chat).get_completions(Document("/"), CompleteEvent())
    metas = {c.text: c.display_meta_text for c in offered}
    assert metas == {f"/{name}": entry.summary for name, entry in COMMANDS.items()}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/model st", ["/model standin-model", "/model standin-model-large"]),
        ("/model standin-model-", ["/model standin-model-large"]),
        ("/think c", ["/think collapse"]),
        ("/set top", ["/set top_k", "/set top_p"]),
        ("/stats o", ["/stats off", "/stats on"]),
        ("hello", []),
    ],
)
def test_tab_completion(server: StandinServer, text: str, expected: list[str]) -> None:
    assert sorted(completions(new_chat(server.url), text)) == expected


@pytest.mark.parametrize("command", ["/file", "/image", "/save", "/load"])
def test_tab_completes_file_names_for_commands_that_take_a_path(
    server: StandinServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "photos").mkdir()
    monkeypatch.chdir(tmp_path)
    # /load completes saved chats by name, and files once the argument looks like a path.
    prefix = "./" if command == "/load" else ""
    expected = [f"{command} {prefix}notes.txt"]
    assert completions(new_chat(server.url), f"{command} {prefix}no") == expected
    assert completions(new_chat(server.url), f"{command} {prefix}pho") == [
        f"{command} {prefix}photos"
    ]


# ---- errors keep the session alive ------------------------------------------------------


def test_unreachable_server_prints_one_line_and_the_session_goes_on(capsys) -> None:
    url = f"http://127.0.0.1:{dead_port()}/v1"
    assert drive(new_chat(url), "hello\r/system\r" + CTRL_D) == 0
    captured = capsys.readouterr()
    errors = captured.err.splitlines()
    assert len(errors) == 1
    assert url in errors[0]
    assert "Traceback" not in captured.err
    assert "no system prompt is set" in captured.out  # the next line was still read


def test_server_stopped_mid_session_then_back(server_factory, capsys) -> None:
    first = server_factory()
    port = first.port
    chat = new_chat(first.url)
    assert drive(chat, "one\r" + CTRL_D) == 0
    first.stop()
    hold(port)  # closed, and no other server's meanwhile

    assert drive(chat, "two\r/system\r" + CTRL_D) == 0
    captured = capsys.readouterr()
    assert "You said: one" in captured.out
    assert "no system prompt is set" in captured.out
    errors = captured.err.splitlines()
    assert len(errors) == 1
    assert first.url in errors[0]

    release(port)
    back = server_factory(port=port)
    assert drive(chat, "three\r" + CTRL_D) == 0
    assert "You said: three" in capsys.readouterr().out
    # The failed "two" is not part of the conversation: roles still alternate.
    assert back.requests[-1]["messages"] == [
        {"role": "user", "content": "one"},
        {"role": "assistant", "content": "You said: one"},
        {"role": "user", "content": "three"},
    ]


def test_server_error_is_shown_and_the_failed_message_forgotten(
    server: StandinServer, capsys
) -> None:
    server.push(
        Reply(content="first answer"),
        Reply(status=500, error_body={"error": {"message": "boom"}}),
    )
    assert drive(new_chat(server.url), "one\rtwo\rthree\r" + CTRL_D) == 0
    captured = capsys.readouterr()
    assert "boom" in captured.err
    assert len(captured.err.splitlines()) == 1
    assert "first answer" in captured.out
    assert "You said: three" in captured.out
    assert sent(server) == ["one", "two", "three"]
    assert server.requests[-1]["messages"] == [
        {"role": "user", "content": "one"},
        {"role": "assistant", "content": "first answer"},
        {"role": "user", "content": "three"},
    ]


def test_partial_answer_is_kept_and_the_session_goes_on(server: StandinServer, capsys) -> None:
    server.push(Reply(content="abcdefghijklmnop", chunk_chars=4, cut_after=2))
    assert drive(new_chat(server.url), "one\rtwo\r" + CTRL_D) == 0
    captured = capsys.readouterr()
    assert "abcdefgh" in captured.out
    assert "connection was lost" in captured.err
    assert "You said: two" in captured.out
    assert server.requests[-1]["messages"] == [
        {"role": "user", "content": "one"},
        {"role": "assistant", "content": "abcdefgh"},
        {"role": "user", "content": "two"},
    ]


class FailingRenderer:
    """A renderer with a bug: it breaks at the first delta."""

    def feed_reasoning(self, text: str) -> None:
        pass

    def end_reasoning(self, summary: str | None = None) -> None:
        pass

    def feed(self, text: str) -> None:
        raise RuntimeError("renderer bug")

    def finish(self, note: str | None = None) -> None:
        pass


def test_a_bug_in_a_turn_costs_one_line_not_the_session(server: StandinServer, capsys) -> None:
    chat = new_chat(server.url)
    working = chat.make_renderer
    renderers = iter([FailingRenderer(), None])
    chat.make_renderer = lambda: next(renderers) or working()
    assert drive(chat, "first\rsecond\r" + CTRL_D) == 0
    captured = capsys.readouterr()
    errors = [line for line in captured.err.splitlines() if "unexpected" in line]
    assert len(errors) == 1 and "RuntimeError: renderer bug" in errors[0], captured.err
    assert "Traceback" not in captured.err
    assert "You said: second" in captured.out
    # What arrived of the broken turn is kept as a partial answer: roles still alternate.
    assert [m["role"] for m in server.requests[-1]["messages"]] == ["user", "assistant", "user"]


@pytest.fixture
def broken_command() -> Iterator[str]:
    """`/broken`, a command with a bug, registered as every command is; removed afterwards."""
    assert "broken" not in COMMANDS

    @commands.command("broken", "a command with a bug (registered by a test)")
    def broken(ctx: commands.Context, arg: str) -> None:
        ctx.say("looking at the tenth message")
        ctx.say(str(ctx.chat.conversation.messages[9].content))  # there are two: IndexError

    yield "broken"
    del COMMANDS["broken"]


def test_a_bug_in_a_command_costs_one_line_and_the_prompt_comes_back(
    server: StandinServer, capsys: pytest.CaptureFixture[str], broken_command: str
) -> None:
    chat = new_chat(server.url)
    assert drive(chat, f"one\r/{broken_command}\rtwo\r" + CTRL_D) == 0
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [
        "error: unexpected IndexError: list index out of range "
        "(please report it; VLLM_CHAT_DEBUG=1 shows where)"
    ]
    assert "looking at the tenth message" in captured.out  # the command did run
    assert "You said: two" in captured.out  # the prompt came back, and the next line was read
    # The conversation is as it was before the command.
    assert server.requests[-1]["messages"] == [
        {"role": "user", "content": "one"},
        {"role": "assistant", "content": "You said: one"},
        {"role": "user", "content": "two"},
    ]


class RendererFailingAtTheEnd(FailingRenderer):
    """A renderer with a bug in `finish`: the whole answer arrived, its ending breaks."""

    def feed(self, text: str) -> None:
        pass

    def finish(self, note: str | None = None) -> None:
        raise KeyError("finish bug")


def test_a_bug_at_the_end_of_an_answer_keeps_the_answer_and_the_session(
    server: StandinServer, capsys: pytest.CaptureFixture[str]
) -> None:
    chat = new_chat(server.url)
    working = chat.make_renderer
    renderers = iter([RendererFailingAtTheEnd(), None])
    chat.make_renderer = lambda: next(renderers) or working()
    assert drive(chat, "first\rsecond\r" + CTRL_D) == 0
    captured = capsys.readouterr()
    errors = captured.err.splitlines()
    assert len(errors) == 1 and "unexpected KeyError: 'finish bug'" in errors[0], errors
    assert "You said: second" in captured.out
    # The answer that arrived is in the conversation (marked partial): roles alternate.
    assert server.requests[-1]["messages"] == [
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "You said: first"},
        {"role": "user", "content": "second"},
    ]

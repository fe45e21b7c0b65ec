"""/logprobs and /alt, typed into a real Repl against the stand-in; the token view on a
terminal; the probabilities kept with the answer in the chat store and in saved chats."""

from __future__ import annotations

import io
import re
from pathlib import Path

from tests.repl.test_power import error_lines, run_repl
from tests.repl.test_repl import CTRL_D, new_chat
from tests.standin import MAX_LOGPROBS, Reply, StandinServer
from tests.store.storage import quick, repl_session
from vllm_chat.app import make_chat
from vllm_chat.config.settings import Settings
from vllm_chat.render.environment import Environment

# Four tokens ("Pari", "s is", " big", "!"): the third is the least certain, the second next.
ANSWER = Reply(content="Paris is big!", chunk_chars=4, logprobs=[-0.01, -1.0, -4.0, -0.2])


def asked(server: StandinServer) -> list[tuple[object, object]]:
    return [(r.get("logprobs"), r.get("top_logprobs")) for r in server.requests]


def table_rows(out: str) -> list[list[str]]:
    """The rows of /alt's table (after its head), split at its column gaps."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.split()[:2] == ["pos", "token"])
    rows = []
    for line in lines[start + 1 :]:
        if not re.match(r"^\s*\d+  ", line):
            break
        rows.append(re.split(r"\s{2,}", line.strip()))
    return rows


def test_logprobs_asks_for_them_and_alt_lists_the_least_certain(server, capsys) -> None:
    server.push(ANSWER, Reply(content="plain"))
    keys = "/logprobs 3\rwhere?\r/alt 2\r/alt s b\r/logprobs off\rand?\r/logprobs\r"
    run_repl(new_chat(server.url), keys + CTRL_D)
    out = capsys.readouterr().out
    assert asked(server) == [(True, 3), (None, None)]
    assert "token probabilities: on, 3 alternatives per token" in out
    assert "the 2 least certain tokens of 4:" in out
    rows = table_rows(out)
    assert [row[:3] for row in rows[:2]] == [["3", '" big"', "1.8 %"], ["2", '"s is"', "37 %"]]
    # Its alternatives, most probable first, the chosen token left out.
    assert rows[0][3].startswith("‹byte› 49 % · \" maybe\" 25 %")
    assert "'s b' is in 2 tokens of 4:" in out  # "s is" and " big"
    assert "token probabilities: off (/logprobs on asks for them)" in out
    # The probabilities stay with the answer: never sent back to the server.
    assert server.requests[1]["messages"][1] == {"role": "assistant", "content": "Paris is big!"}


def test_alt_without_probabilities_says_how_to_get_them(server, capsys) -> None:
    run_repl(new_chat(server.url), "hi\r/alt\r/alt 3\r" + CTRL_D)
    out = capsys.readouterr().out
    assert out.count("the last answer has no token probabilities; /logprobs on asks for them") == 2


def test_a_server_that_ignores_them_is_named_once(server, capsys) -> None:
    server.push(Reply(content="one", ignore_logprobs=True), Reply(content="two",
                ignore_logprobs=True))  # fmt: skip
    run_repl(new_chat(server.url), "/logprobs on\ra\rb\r/alt\r" + CTRL_D)
    captured = capsys.readouterr()
    assert "one" in captured.out and "two" in captured.out  # the answers, shown normally
    assert asked(server) == [(True, 5), (True, 5)]
    assert error_lines(captured.err) == [
        "the server sent no token probabilities (it ignores logprobs); /logprobs off stops asking"
    ]
    assert "the last answer has no token probabilities\n" in captured.out


def test_a_refusal_is_one_line_and_leaves_the_choice_to_the_user(server, capsys) -> None:
    top = MAX_LOGPROBS + 1
    run_repl(new_chat(server.url), f"/logprobs {top}\rhi\r/logprobs\r" + CTRL_D)
    captured = capsys.readouterr()
    [line] = error_lines(captured.err)
    assert f"greater than max allowed: {MAX_LOGPROBS}" in line
    assert line.endswith("(/logprobs N asks for fewer alternatives, /logprobs off stops asking)")
    assert f"on, {top} alternatives per token" in captured.out.splitlines()[-1]


def terminal_chat(url: str, out: io.StringIO, **settings: object):
    env = Environment(stdout=out, stderr=out, stdout_isatty=True, stderr_isatty=True)
    return make_chat(Settings(url=url, **settings), env)  # type: ignore[arg-type]


def test_on_a_terminal_the_answer_is_shown_token_by_token(server) -> None:
    out = io.StringIO()
    server.push(Reply(content="**bold** red", chunk_chars=4, logprobs=[-0.01, -0.01, -5.0]),
                Reply(content="again"))  # fmt: skip
    run_repl(terminal_chat(server.url, out, logprobs=2), "a\rb\r" + CTRL_D)
    raw = out.getvalue()
    assert raw.count("tokens: plain ≥ 90 %") == 1  # the legend, once
    assert "**bold**" in raw  # not rendered as Markdown: tokens are the point
    assert "\x1b[31m red\x1b[0m" in raw  # the improbable token in red
    assert "again" in raw


def test_with_no_color_the_legend_says_what_underlining_means(server) -> None:
    out = io.StringIO()
    env = Environment(stdout=out, stderr=out, stdout_isatty=True, stderr_isatty=True,
                      no_color=True)  # fmt: skip
    chat = make_chat(Settings(url=server.url, logprobs=2), env)
    server.push(Reply(content="odd", logprobs=[-5.0]))
    run_repl(chat, "a\r" + CTRL_D)
    raw = out.getvalue()
    assert "tokens: plain ≥ 50 %, underlined ≥ 10 %, bold underlined < 10 %" in raw
    assert "\x1b[1;4modd\x1b[0m" in raw and "\x1b[3" not in raw  # no colour at all


def test_alt_works_after_resuming_the_stored_chat(server, capsys) -> None:
    server.push(ANSWER)
    quick(server, "-q", "where?", "--logprobs", "2")
    capsys.readouterr()
    repl_session(server.url, "/alt 1\r" + CTRL_D, resume="")
    out = capsys.readouterr().out
    assert table_rows(out)[0][:3] == ["3", '" big"', "1.8 %"]


def test_saved_chats_keep_them_too(server, capsys, tmp_path: Path) -> None:
    server.push(ANSWER)
    path = tmp_path / "c.json"
    run_repl(new_chat(server.url), f"/logprobs 1\rwhere?\r/save {path}\r" + CTRL_D)
    run_repl(new_chat(server.url), f"/load {path}\r/alt 1\r" + CTRL_D)
    out = capsys.readouterr().out
    assert [row[:3] for row in table_rows(out)] == [["3", '" big"', "1.8 %"]]


def test_hidden_thinking_leaves_the_answers_colours_right(server) -> None:
    out = io.StringIO()
    # Deltas "hmm ", "hmm " (thinking, not shown), "ok r" (20 %), "ed" (1 %).
    server.push(Reply(reasoning="hmm hmm ", content="ok red", chunk_chars=4,
                      logprobs=[-0.01, -0.01, -1.6, -5.0]))  # fmt: skip
    run_repl(terminal_chat(server.url, out, logprobs=1, think="hide"), "a\r" + CTRL_D)
    raw = out.getvalue()
    assert "hmm" not in raw
    assert "\x1b[38;5;208mok r\x1b[0m\x1b[31med\x1b[0m" in raw


def test_settings_say_whether_they_are_asked_for(server, capsys) -> None:
    run_repl(new_chat(server.url, logprobs=7), "/settings\r/logprobs off\r/settings\r" + CTRL_D)
    rows = [line.split() for line in capsys.readouterr().out.splitlines()]
    assert [row for row in rows if row[:1] == ["logprobs"]] == [
        ["logprobs", "on,", "top", "7"], ["logprobs", "off"]
    ]

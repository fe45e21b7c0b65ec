"""Tool calls through the real command in a pseudo-terminal: seen growing, then answered."""

from __future__ import annotations

from pathlib import Path

from tests.chat.test_tools import tools_file
from tests.standin import Reply, StandinServer
from tests.test_e2e import spawn


def test_a_call_grows_on_screen_is_answered_at_the_prompt_and_the_model_goes_on(
    server: StandinServer, tmp_path: Path, children
) -> None:
    arguments = '{"city": "Paris", "unit": "celsius"}'
    server.push(
        Reply(content="Let me check.", tool_calls=[("get_weather", arguments)],
              finish_reason="tool_calls", delay=0.04),
        Reply(content="It is sunny in Paris."),
    )  # fmt: skip
    child, term = spawn("--url", server.url, "--no-history", "--tools", str(tools_file(tmp_path)))
    children.append(child)
    term.wait_prompt()
    child.send("weather in Paris?\r")
    # While it streams: the call's name, and its arguments as far as they came, raw.
    term.wait(lambda: '{"city": "Pa' in term.seen_text(), "the arguments growing")
    assert "tool call get_weather#" in term.seen_text()
    assert "celsius" not in term.seen_text()
    term.wait_text("result for get_weather#")
    lines = term.seen_lines()
    head = next(i for i, line in enumerate(lines) if line.startswith("tool call get_weather#"))
    assert lines[head + 1 : head + 5] == ["{", '  "city": "Paris",', '  "unit": "celsius"', "}"]
    assert not any(arguments[:8] in line for line in lines)  # the raw view was replaced
    assert sum(line.startswith("tool call ") for line in lines) == 1
    assert lines.count("Let me check.") == 1

    child.send("sunny, 21 C\r")
    term.wait_text("It is sunny in Paris.")
    term.wait_prompt()
    sent = server.requests[-1]["messages"]
    call = sent[-2]["tool_calls"][0]
    assert call["function"] == {"name": "get_weather", "arguments": arguments}
    assert sent[-1] == {"role": "tool", "tool_call_id": call["id"], "content": "sunny, 21 C"}
    child.send("\x04")
    assert term.wait_exit() == 0

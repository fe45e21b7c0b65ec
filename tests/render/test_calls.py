"""Tool calls on the screen: the name at once, the arguments as they grow, then pretty."""

from __future__ import annotations

from typing import Any

from tests.render.fidelity import play, strip_escapes
from tests.render.test_render import FakeClock, FakeTerminal, make_console, output_of, pipe
from tests.render.test_render import written as pipe_bytes
from vllm_chat.render.calls import NOT_JSON
from vllm_chat.render.plain import PlainRenderer
from vllm_chat.render.stream import MarkdownRenderer

COLUMNS, ROWS = 80, 24


def new_call(index: int, name: str) -> dict[str, Any]:
    return {"id": f"call_{index}", "type": "function", "function": {"name": name, "arguments": ""}}


def grow(
    renderer: Any, calls: list[dict[str, Any]], index: int, text: str, clock=None, step: int = 1
) -> None:
    """Stream `text` into call `index`'s arguments, a character at a time as vLLM does."""
    for start in range(0, len(text), step):
        calls[index]["function"]["arguments"] += text[start : start + step]
        renderer.feed_calls(calls)
        if clock is not None:
            clock.now += 0.1  # every delta redraws


def test_markdown_shows_the_arguments_growing_then_pretty_once() -> None:
    console, clock = make_console(ROWS), FakeClock()
    renderer = MarkdownRenderer(console, clock=clock)
    renderer.feed("Let me look.\n")
    calls = [new_call(1, "get_weather")]
    assert renderer.feed_calls(calls) is True
    grow(renderer, calls, 0, '{"city": "Pa', clock)
    midway = play(output_of(console), COLUMNS, ROWS)
    assert "tool call get_weather#call_1" in midway
    assert '{"city": "Pa' in midway  # the arguments as far as they came
    grow(renderer, calls, 0, 'ris", "days": 2}', clock)
    renderer.finish()
    screen = play(output_of(console), COLUMNS, ROWS)
    assert screen.count("Let me look.") == 1
    assert screen.count("tool call get_weather#call_1") == 1
    start = screen.index("tool call get_weather#call_1")
    assert screen[start + 1 : start + 5] == ["{", '  "city": "Paris",', '  "days": 2', "}"]
    assert not any('{"city"' in line for line in screen)  # the raw view is gone
    assert NOT_JSON not in "\n".join(screen)


def test_markdown_shows_parallel_calls_each_once() -> None:
    console, clock = make_console(ROWS), FakeClock()
    renderer = MarkdownRenderer(console, clock=clock)
    calls = [new_call(0, "get_weather")]
    renderer.feed_calls(calls)
    grow(renderer, calls, 0, '{"city": "Oslo"}', clock)
    calls.append(new_call(1, "get_time"))
    renderer.feed_calls(calls)
    grow(renderer, calls, 1, '{"zone": "CET"}', clock)
    midway = play(output_of(console), COLUMNS, ROWS)
    assert "tool call get_weather#call_0" in midway and "tool call get_time#call_1" in midway
    renderer.finish()
    screen = play(output_of(console), COLUMNS, ROWS)
    assert screen.count("tool call get_weather#call_0") == 1
    assert screen.count("tool call get_time#call_1") == 1
    assert screen.index("tool call get_weather#call_0") < screen.index("tool call get_time#call_1")
    assert '  "city": "Oslo"' in screen and '  "zone": "CET"' in screen


def test_markdown_shows_arguments_that_are_not_json_raw_and_flagged() -> None:
    console, clock = make_console(ROWS), FakeClock()
    renderer = MarkdownRenderer(console, clock=clock)
    calls = [new_call(0, "get_weather")]
    grow(renderer, calls, 0, '{"city": "Par', clock)  # cut by the token limit
    renderer.finish()
    screen = play(output_of(console), COLUMNS, ROWS)
    start = screen.index("tool call get_weather#call_0")
    assert screen[start + 1 : start + 3] == ['{"city": "Par', NOT_JSON]


def test_markdown_live_view_of_long_arguments_stays_within_the_screen() -> None:
    console, clock = make_console(ROWS), FakeClock()
    renderer = MarkdownRenderer(console, clock=clock)
    calls = [new_call(0, "write_file")]
    renderer.feed_calls(calls)
    body = "".join(f"{n:04d}" for n in range(2000))  # 8,000 characters, 100 rows
    grow(renderer, calls, 0, '{"text": "' + body, clock, step=40)
    midway = play(output_of(console), COLUMNS, ROWS)
    assert len(midway) <= ROWS  # nothing of the live view pushed into the scrollback
    assert "".join(midway[-2:]).endswith("19981999")  # its end, so far
    grow(renderer, calls, 0, '"}', clock)
    renderer.finish()
    final = play(output_of(console), COLUMNS, ROWS)
    assert final.count("tool call write_file#call_0") == 1
    assert sum("00000001" in line for line in final) == 1  # printed whole, once
    assert "".join(final).count("19981999") == 1


def test_plain_terminal_streams_each_call_and_flags_broken_arguments() -> None:
    out = FakeTerminal()
    renderer = PlainRenderer(out)
    renderer.feed("Checking.")
    calls = [new_call(0, "get_weather")]
    assert renderer.feed_calls(calls) is True
    grow(renderer, calls, 0, '{"city": "Rome"}')
    calls.append(new_call(1, "get_time"))
    renderer.feed_calls(calls)
    grow(renderer, calls, 1, '{"zone"')
    calls[0]["function"]["arguments"] += " "  # the first call grows again: its head again
    renderer.feed_calls(calls)
    renderer.finish()
    assert strip_escapes(out.getvalue()).splitlines() == [
        "Checking.",
        'tool call get_weather#call_0 {"city": "Rome"}',
        'tool call get_time#call_1 {"zone"',
        "tool call get_weather#call_0  ",
        f"tool call get_time#call_1: {NOT_JSON}",
    ]


def test_plain_pipe_leaves_calls_to_the_chat() -> None:
    out = pipe()
    renderer = PlainRenderer(out)
    renderer.feed("Checking.")
    calls = [new_call(0, "get_weather")]
    calls[0]["function"]["arguments"] = "{}"
    assert renderer.feed_calls(calls) is False
    renderer.finish()
    assert pipe_bytes(out) == b"Checking.\n"  # stdout holds the answer and nothing else

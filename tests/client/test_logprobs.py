"""Token probabilities as they come over HTTP from the stand-in (in vLLM 0.32's shapes),
as events, in the token view and in `/alt`'s table."""

from __future__ import annotations

import io
import json
import math
import re

import pyte
import pytest

from tests.standin import MAX_LOGPROBS, Reply, StandinServer
from vllm_chat.client.api import Client
from vllm_chat.client.errors import ApiError
from vllm_chat.client.events import ContentDelta, Logprobs, Usage, parse_chunk
from vllm_chat.render.environment import Environment
from vllm_chat.render.tokens import (
    PARTIAL,
    TokenRenderer,
    alternatives_table,
    least_certain,
    positions_of,
    shown,
)


def body(server: StandinServer, **extra: object) -> dict[str, object]:
    return {"model": server.models[0], "messages": [{"role": "user", "content": "hi"}],
            "stream": True, "stream_options": {"include_usage": True}, **extra}  # fmt: skip


def events(server: StandinServer, **extra: object) -> list[object]:
    client = Client(server.url)
    try:
        return list(client.stream_chat(body(server, **extra)))
    finally:
        client.close()


def tokens_of(found: list[object]) -> list[dict]:
    return [token for event in found if isinstance(event, Logprobs) for token in event.tokens]


def test_each_token_comes_with_its_alternatives_most_probable_first(server) -> None:
    server.push(Reply(content="one two", chunk_chars=4, logprobs=[-0.01, -2.5]))
    found = events(server, logprobs=True, top_logprobs=3)
    tokens = tokens_of(found)
    assert [t["token"] for t in tokens] == ["one ", "two"]
    assert tokens[1]["logprob"] == -2.5 and tokens[1]["bytes"] == list(b"two")
    # vLLM sends the sampled token first however improbable; here they are sorted.
    raw = server_chunks(server, top_logprobs=3)
    assert raw[1]["top_logprobs"][0]["token"] == "two"
    alternatives = [alt["logprob"] for alt in tokens[1]["top_logprobs"]]
    assert alternatives == sorted(alternatives, reverse=True) and len(alternatives) == 3
    assert "two" in [alt["token"] for alt in tokens[1]["top_logprobs"]]
    # A chunk's probabilities come before its text, for the renderer to colour it.
    kinds = [type(e).__name__ for e in found if isinstance(e, (Logprobs, ContentDelta))]
    assert kinds == ["Logprobs", "ContentDelta", "Logprobs", "ContentDelta"]


def server_chunks(server: StandinServer, **extra: object) -> list[dict]:
    """The `logprobs.content` entries exactly as the stand-in sends them."""
    import requests

    server.push(Reply(content="one two", chunk_chars=4, logprobs=[-0.01, -2.5]))
    response = requests.post(f"{server.url}/chat/completions", timeout=10,
                             json=body(server, logprobs=True, **extra))  # fmt: skip
    entries = []
    for line in response.text.splitlines():
        if line.startswith("data: {"):
            for choice in json.loads(line[6:])["choices"]:
                entries += (choice.get("logprobs") or {}).get("content") or []
    return entries


def test_a_server_that_ignores_them_sends_no_logprobs_event(server) -> None:
    server.push(Reply(content="plain answer", ignore_logprobs=True))
    found = events(server, logprobs=True, top_logprobs=2)
    assert not [e for e in found if isinstance(e, Logprobs)]
    assert "".join(e.text for e in found if isinstance(e, ContentDelta)) == "plain answer"


def test_not_asked_for_none_come(server) -> None:
    server.push(Reply(content="plain answer"))
    assert not [e for e in events(server) if isinstance(e, Logprobs)]


def test_more_than_the_server_allows_is_refused_with_its_words(server) -> None:
    with pytest.raises(ApiError, match=f"greater than max allowed: {MAX_LOGPROBS}"):
        events(server, logprobs=True, top_logprobs=MAX_LOGPROBS + 1)


def test_usage_is_kept_exactly_as_sent(server) -> None:
    server.push(Reply(content="abc"))
    [usage] = [e for e in events(server) if isinstance(e, Usage)]
    assert usage.raw == {"prompt_tokens": 1, "total_tokens": 2, "completion_tokens": 1}


def test_part_of_a_character_comes_as_vllm_sends_it(server) -> None:
    server.push(Reply(content="a日", chunk_chars=1, split_characters=True))
    tokens = tokens_of(events(server, logprobs=True, top_logprobs=0))
    # vLLM 0.32: the token of a character's first bytes is "" with no bytes; the token that
    # ends it carries the whole character.
    assert [(t["token"], t["bytes"]) for t in tokens] == [
        ("a", [97]), ("", []), ("日", list("日".encode()))
    ]
    assert [shown(t) for t in tokens] == ['"a"', PARTIAL, '"日"']


def test_bytes_that_are_not_whole_characters_are_shown_escaped() -> None:
    # OpenAI's form, and bytes lists that end inside a character.
    assert shown({"token": "bytes:\\xe2\\x80", "bytes": [226, 128]}) == '"\\xe2\\x80"'
    assert shown({"token": "\ufffd", "bytes": [226, 128]}) == '"\\xe2\\x80"'
    assert shown({"token": "a\n\x1b", "bytes": list(b"a\n\x1b")}) == '"a\\n\\x1b"'
    chunk = {"choices": [{"index": 0, "delta": {"content": "x"}, "logprobs": {"content": [
        {"token": "x", "logprob": -1, "bytes": [120], "top_logprobs": [
            {"token": "x", "logprob": -1, "bytes": [120]},
            {"token": "bytes:\\xe2", "logprob": -0.5, "bytes": [226]}]}]}}]}  # fmt: skip
    [event, _] = parse_chunk(json.dumps(chunk))
    assert isinstance(event, Logprobs)
    assert [shown(alt) for alt in event.tokens[0]["top_logprobs"]] == ['"\\xe2"', '"x"']


def tty_env(out: io.StringIO, *, no_color: bool = False) -> Environment:
    return Environment(stdout=out, stderr=out, stdout_isatty=True, stderr_isatty=True,
                       no_color=no_color)  # fmt: skip


def colours(raw: str, text: str) -> list[tuple[str, str, bool]]:
    """(character, foreground, underlined) of each character of `text` on the screen."""
    display = pyte.Screen(100, 10)
    pyte.Stream(display).feed(raw.replace("\n", "\r\n"))
    for y in range(display.lines):
        line = "".join(display.buffer[y][x].data for x in range(display.columns))
        if text in line:
            start = line.index(text)
            row = display.buffer[y]
            return [(row[x].data, row[x].fg, row[x].underscore)
                    for x in range(start, start + len(text))]  # fmt: skip
    raise AssertionError(f"{text!r} not shown:\n{raw!r}")


def feed_answer(renderer: TokenRenderer, pieces: list[tuple[str, float]]) -> None:
    for text, logprob in pieces:
        renderer.feed_logprobs([{"token": text, "logprob": logprob, "bytes": None}])
        renderer.feed(text)
    renderer.finish()


def test_the_token_view_colours_each_token_by_its_probability() -> None:
    out = io.StringIO()
    renderer = TokenRenderer(out, out, env=tty_env(out), legend=True)
    feed_answer(renderer, [("sure ", math.log(0.95)), ("likely ", math.log(0.6)),
                           ("maybe ", math.log(0.2)), ("wild", math.log(0.01))])  # fmt: skip
    raw = out.getvalue()
    assert raw.splitlines()[0].startswith("tokens: plain ≥ 90 %")  # the legend, first
    shown_colours = {char: fg for char, fg, _ in colours(raw, "sure likely maybe wild")}
    assert shown_colours["s"] == "default"
    assert shown_colours["k"] == "brown"  # pyte's name for SGR 33, yellow
    assert shown_colours["b"] == "ff8700"  # orange, colour 208
    assert shown_colours["w"] == "red"


def test_with_no_color_uncertain_tokens_are_underlined_instead() -> None:
    out = io.StringIO()
    renderer = TokenRenderer(out, out, env=tty_env(out, no_color=True))
    feed_answer(renderer, [("sure ", math.log(0.95)), ("wild", math.log(0.01))])
    marks = colours(out.getvalue(), "sure wild")
    assert all(fg == "default" for _, fg, _ in marks)
    assert [under for char, _, under in marks if char in "sure"] == [False] * 4
    assert [under for char, _, under in marks if char in "wild"] == [True] * 4


def test_the_token_view_keeps_text_no_token_accounts_for() -> None:
    out = io.StringIO()
    renderer = TokenRenderer(out, out, env=tty_env(out))
    # A token announced that never shows (a reasoning parser took `<think>` out), then
    # vLLM's "\ufffd" for a byte that never became a character before the next token.
    renderer.feed_logprobs([{"token": "<think>", "logprob": -3.0}])
    renderer.feed_logprobs([{"token": " given", "logprob": -1.5}])
    renderer.feed("\ufffd given")
    renderer.finish()
    marks = colours(out.getvalue(), "\ufffd given")
    assert "".join(char for char, _, _ in marks) == "\ufffd given"
    assert marks[0][1] == "default" and {fg for _, fg, _ in marks[1:]} == {"ff8700"}


def test_alt_table_lists_the_least_certain_with_their_alternatives() -> None:
    tokens = [
        {"token": "The", "logprob": -0.01, "bytes": None, "top_logprobs": []},
        {"token": " cat", "logprob": math.log(0.3), "bytes": None, "top_logprobs": [
            {"token": " dog", "logprob": math.log(0.5)},
            {"token": " cat", "logprob": math.log(0.3)},
            {"token": "", "logprob": math.log(0.1), "bytes": []}]},
        {"token": "\n", "logprob": math.log(0.05), "bytes": [10], "top_logprobs": []},
    ]  # fmt: skip
    assert least_certain(tokens, 2) == [2, 1]
    table = alternatives_table(tokens, least_certain(tokens, 2)).splitlines()
    assert table[0].split() == ["pos", "token", "prob", "alternatives"]
    assert re.split(r"\s{2,}", table[1].strip()) == ["3", '"\\n"', "5 %"]
    assert re.split(r"\s{2,}", table[2].strip()) == ["2", '" cat"', "30 %",
                                                     '" dog" 50 % · ‹byte› 10 %']  # fmt: skip
    assert positions_of(tokens, "he ca") == [0, 1] and positions_of(tokens, "CAT") == [1]
    assert positions_of(tokens, "mouse") == []

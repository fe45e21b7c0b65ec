"""/tokens, /server and the toolbar's count through the real command in a pseudo-terminal."""

from __future__ import annotations

from pathlib import Path

from tests.standin import Reply, StandinServer
from tests.test_e2e import spawn


def test_tokens_in_alternating_colours_and_the_toolbar_count(
    server: StandinServer, tmp_path: Path, children
) -> None:
    child, term = spawn("--url", server.url, "--history-file", str(tmp_path / "h"), "--private")
    children.append(child)
    term.wait_prompt()
    child.send("/tokens Hello world, you\r")
    term.wait_text("3 tokens")
    row = term.row_with("HelloĠworld,Ġyou")
    text = "".join(char.data for char in row)
    start = text.index("Hello")
    colours = [row[start + i].bg for i in range(len("HelloĠworld,Ġyou"))]
    assert colours == ["cyan"] * 5 + ["brown"] * 7 + ["cyan"] * 4  # token by token
    term.wait_prompt()

    child.send("hello there\r")
    term.wait_text("You said: hello there")
    # The usage says 8 (2 prompt + 6 answer tokens); then /tokenize counts the next
    # request's prompt through the chat template: 19, in the toolbar at the bottom.
    term.wait(lambda: "19 / 4,096 tokens" in term.display[-1], "the count in the toolbar")
    assert server.count_requests[-1]["messages"][-1] == {
        "role": "assistant",
        "content": "You said: hello there",
    }
    child.sendcontrol("d")
    assert term.wait_exit() == 0


def test_server_and_cached_tokens_on_screen(server_factory, tmp_path: Path, children) -> None:
    server: StandinServer = server_factory(loras={"sql-lora": "standin-model"})
    server.push(Reply(content="First", cached_tokens=0), Reply(content="Second", cached_tokens=4))
    args = ("--url", server.url, "--history-file", str(tmp_path / "h"), "--private", "--stats")
    child, term = spawn(*args)
    children.append(child)
    term.wait_prompt()
    for text, answer in (("hello there", "First"), ("once more", "Second")):
        child.send(text + "\r")
        term.wait_text(answer)  # the prompt is still up until the answer begins
        term.wait_prompt()
    term.wait_text("completion tokens, 4 cached")
    term.wait(lambda: "· 4 cached" in term.display[-1], "the cached tokens in the toolbar")
    child.send("/server\r")
    term.wait_text("throughput")
    shown = term.seen_text()
    assert "vLLM 0.32.0 · healthy" in shown
    assert "sql-lora · LoRA adapter of standin-model" in shown
    assert "prefix cache  " in shown and "hit since the server started" in shown
    assert "first look" in shown
    term.wait_prompt()
    child.send("/server\r")
    term.wait_text("tokens/s in the last")
    child.sendcontrol("d")
    assert term.wait_exit() == 0

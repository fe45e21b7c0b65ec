"""Showing answers: sanitize, PlainRenderer, BlockSplitter and the streaming MarkdownRenderer.

Markdown output is checked the way a user sees it: the bytes are played into a `pyte`
terminal emulator and the resulting screen text is compared.
"""

from __future__ import annotations

import io
import re
import time
from pathlib import Path

import pyte
import pytest
from rich.console import Console

from tests.emulator import ScrollbackScreen
from tests.standin import MARKDOWN_SAMPLE
from vllm_chat.render.plain import PlainRenderer
from vllm_chat.render.stream import BlockSplitter, MarkdownRenderer, render_once
from vllm_chat.render.text import sanitize

# -- sanitize -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x1b[31mred\x1b[0m text", "red text"),
        ("\x1b[1;38;5;196mbold\x1b[m", "bold"),
        ("\x1b[2J\x1b[Hcleared", "cleared"),
        ("copy\x1b]52;c;ZGF0YQ==\x07 me", "copy me"),
        ("copy\x1b]52;c;ZGF0YQ==\x1b\\ me", "copy me"),
        ("\x1b]0;new title\x07after", "after"),
        ("\x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\ here", "click here"),
        ("\x1bPq#0;2;0;0;0#0~~@@\x1b\\sixel", "sixel"),
        ("\x1b_apc payload\x1b\\x", "x"),
        ("lone escape\x1b", "lone escape"),
        ("lone\x1b\nescape", "lone\nescape"),
        ("\x1bcreset", "reset"),
    ],
)
def test_sanitize_removes_escape_sequences(raw: str, shown: str) -> None:
    assert sanitize(raw) == shown
    assert "\x1b" not in sanitize(raw)


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("bell\x07", "bell\u2407"),
        ("back\x08space", "back\u2408space"),
        ("nul\x00", "nul\u2400"),
        ("\x01\x02\x0b\x0c\x1f", "\u2401\u2402\u240b\u240c\u241f"),
        ("del\x7f", "del\u2421"),
    ],
)
def test_sanitize_makes_other_controls_visible(raw: str, shown: str) -> None:
    assert sanitize(raw) == shown


def test_sanitize_line_ends() -> None:
    assert sanitize("one\r\ntwo\r\n") == "one\ntwo\n"
    lone = sanitize("progress 10%\rprogress 99%")
    assert "\r" not in lone
    assert lone.startswith("progress 10%")
    assert lone.endswith("progress 99%")


def test_sanitize_keeps_plain_text_tabs_newlines_and_unicode() -> None:
    text = "col\tcol\nnaïve café — 日本語 🎉 \u2028 ≠ ∑ «»\n"
    assert sanitize(text) == text


def test_sanitize_neutralises_c1_controls() -> None:
    shown = sanitize("a\x9b31mred\x9d0;title\x9cz\x85")
    assert not re.search("[\x80-\x9f]", shown)
    assert "red" in shown
    assert shown.startswith("a")


def test_sanitize_mixed() -> None:
    raw = "\x1b[1mHi\x1b[0m\r\nbeep\x07 \x1b]52;c;cm0gLXJmIH4=\x07done"
    assert sanitize(raw) == "Hi\nbeep\u2407 done"


# -- PlainRenderer ------------------------------------------------------------------


class FakeTerminal(io.StringIO):
    """A text stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def pipe() -> io.TextIOWrapper:
    """A non-tty text stream with a `.buffer`, like a redirected stdout."""
    return io.TextIOWrapper(io.BytesIO(), encoding="utf-8")


def written(stream: io.TextIOWrapper) -> bytes:
    stream.flush()
    buffer = stream.buffer
    assert isinstance(buffer, io.BytesIO)
    return buffer.getvalue()


def test_plain_to_pipe_is_byte_exact() -> None:
    out = pipe()
    renderer = PlainRenderer(out)
    pieces = ["\x1b[31mred\x1b[0m ", "café 日本", "語\r\nbell\x07", " tab\tend"]
    for piece in pieces:
        renderer.feed(piece)
    renderer.finish()
    assert written(out) == ("".join(pieces) + "\n").encode()


def test_plain_to_file_is_byte_exact(tmp_path: Path) -> None:
    path = tmp_path / "answer.txt"
    text = "# Title\n\n\x1b]52;c;ZGF0YQ==\x07 data ☃\n"
    with open(path, "w", encoding="utf-8") as out:
        renderer = PlainRenderer(out)
        renderer.feed(text[:5])
        renderer.feed(text[5:])
        renderer.finish()
    assert path.read_bytes() == text.encode()  # already ends with "\n": nothing added


def test_plain_adds_exactly_one_final_newline_only_if_missing() -> None:
    for answer, expected in [("no newline", b"no newline\n"), ("one\n", b"one\n"), ("", b"")]:
        out = pipe()
        renderer = PlainRenderer(out)
        renderer.feed(answer)
        renderer.finish()
        assert written(out) == expected


def test_plain_empty_deltas_are_harmless() -> None:
    out = pipe()
    renderer = PlainRenderer(out)
    renderer.feed("")
    renderer.feed("x")
    renderer.feed("")
    renderer.finish()
    assert written(out) == b"x\n"


def test_plain_reasoning_not_on_stdout_when_not_a_tty() -> None:
    out = pipe()
    renderer = PlainRenderer(out, side=out)
    renderer.feed_reasoning("secret thoughts")
    renderer.feed("The answer.")
    renderer.finish()
    assert written(out) == b"The answer.\n"


def test_plain_reasoning_goes_to_a_terminal_side_stream() -> None:
    out, side = pipe(), FakeTerminal()
    renderer = PlainRenderer(out, side=side)
    renderer.feed_reasoning("thinking \x1b]52;c;ZGF0YQ==\x07hard")
    renderer.feed("Answer")
    renderer.finish()
    assert written(out) == b"Answer\n"
    shown = side.getvalue()
    assert shown.index("Thinking") < shown.index("thinking ") < shown.index("hard")
    assert "52;c" not in shown
    assert "ZGF0YQ==" not in shown


def test_plain_note_on_pipe_goes_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    out = pipe()
    renderer = PlainRenderer(out)
    renderer.feed("partial")
    renderer.finish("interrupted")
    assert written(out) == b"partial\n"
    assert "[interrupted]" in capsys.readouterr().err


def test_plain_on_terminal_sanitizes() -> None:
    out = FakeTerminal()
    renderer = PlainRenderer(out)
    renderer.feed("\x1b[31mred\x1b[0m \x1b]52;c;ZGF0YQ==\x07ok\x07")
    renderer.finish()
    assert out.getvalue() == "red ok\u2407\n"


def test_plain_on_terminal_delta_that_is_only_an_escape() -> None:
    out = FakeTerminal()
    renderer = PlainRenderer(out)
    renderer.feed("before ")
    renderer.feed("\x1b")  # a delta can end right after ESC, or be one whole sequence
    renderer.feed("[31m")
    renderer.feed("after")
    renderer.finish()
    assert "\x1b" not in out.getvalue()
    assert out.getvalue().startswith("before ")
    assert out.getvalue().endswith("after\n")


# -- BlockSplitter ------------------------------------------------------------------

DOCUMENT = """\
# Title

Intro paragraph with `code` and **bold**,
continued on a second line.

## Lists

- first
- second

- third after a blank line

  indented continuation of the third

1. one

2. two
10. ten

| a | b |
|---|---|
| 1 | 2 |

```python
def f(x):

    return x
# a comment, not a heading
- not a list

not a paragraph
```
~~~
tilde fence

```
still inside
~~~
> quote
>
> more quote

Last paragraph
without a final newline"""


def split_char_by_char(document: str) -> tuple[list[str], BlockSplitter]:
    splitter = BlockSplitter()
    blocks: list[str] = []
    for char in document:
        blocks += splitter.append(char)
    return blocks, splitter


def split_whole(document: str) -> tuple[list[str], BlockSplitter]:
    splitter = BlockSplitter()
    return splitter.append(document), splitter


def test_blocks_and_tail_concatenate_back_to_the_document() -> None:
    blocks, splitter = split_char_by_char(DOCUMENT)
    assert "".join(blocks) + splitter.tail == DOCUMENT
    assert all(blocks)
    whole_blocks, whole = split_whole(DOCUMENT)
    assert whole_blocks == blocks
    assert whole.tail == splitter.tail


def test_block_boundaries_of_the_document() -> None:
    blocks, splitter = split_char_by_char(DOCUMENT)
    starts = [block.split("\n", 1)[0] for block in blocks]
    assert starts == [
        "# Title",
        "Intro paragraph with `code` and **bold**,",
        "## Lists",
        "- first",
        "| a | b |",
        "```python",
        "~~~",
        "> quote",
    ]
    assert splitter.tail == "Last paragraph\nwithout a final newline"


def test_code_fence_with_blank_and_unindented_lines_is_never_cut() -> None:
    fence = "```\nx = 1\n\ny = 2\n\n# not a heading\n\nplain words\n- not a list\n```\n"
    blocks, splitter = split_char_by_char("Before.\n\n" + fence + "\nAfter.\n")
    assert blocks == ["Before.\n\n", fence + "\n"]
    assert splitter.tail == "After.\n"


def test_open_fence_keeps_everything_in_the_tail() -> None:
    document = "Intro.\n\n````md\n```\ninner\n```\n\nstill in the outer fence\n"
    blocks, splitter = split_char_by_char(document)
    assert blocks == ["Intro.\n\n"]
    assert splitter.in_fence
    assert splitter.tail == document[len("Intro.\n\n") :]
    assert splitter.tail[splitter.fence_start :].startswith("````md")


def test_fence_inside_a_list_item() -> None:
    item = "1. run:\n\n   ```sh\n   make\n\n   make test\n   ```\n\n2. done\n\n"
    blocks, splitter = split_char_by_char(item + "Next.\n")
    assert blocks == [item]
    assert splitter.tail == "Next.\n"


def test_list_with_blank_lines_between_items_stays_one_block() -> None:
    items = "- a\n\n- b\n\n  more b\n\n- c\n\n"
    blocks, splitter = split_char_by_char("Intro.\n\n" + items + "After.\n")
    assert blocks == ["Intro.\n\n", items]
    assert splitter.tail == "After.\n"


def test_numbered_list_with_blank_lines_stays_one_block() -> None:
    items = "1. a\n\n2. b\n\n3) c\n\n"
    blocks, splitter = split_char_by_char(items + "After.\n")
    assert blocks == [items]
    assert splitter.tail == "After.\n"


def test_list_right_after_a_paragraph_line_stays_one_block() -> None:
    block = "Steps:\n1. do this\n\n2. then that\n\n"
    blocks, splitter = split_char_by_char(block + "Done.\n")
    assert blocks == [block]
    assert splitter.tail == "Done.\n"


def test_heading_line_ends_its_block() -> None:
    blocks, splitter = split_char_by_char("# Title\nText right after.\n## Next\n### Third\nx\n")
    assert blocks == ["# Title\n", "Text right after.\n## Next\n", "### Third\n"]
    assert splitter.tail == "x\n"


def test_closed_fence_ends_its_block() -> None:
    blocks, splitter = split_char_by_char("```\ncode\n```\ntext\n")
    assert blocks == ["```\ncode\n```\n"]
    assert splitter.tail == "text\n"


def test_paragraphs_are_cut_at_blank_lines() -> None:
    blocks, splitter = split_char_by_char("one\ntwo\n\n\nthree\n\nfour")
    # A block is finished only once the next one's first line is complete.
    assert blocks == ["one\ntwo\n\n\n"]
    assert splitter.tail == "three\n\nfour"
    assert splitter.append("\n") == ["three\n\n"]
    assert splitter.tail == "four\n"


def test_indented_fence_marker_does_not_close_a_top_level_fence() -> None:
    fence = '```python\ndef f():\n    """\n    ```\n    """\n\nx = 1\n```\n'
    blocks, splitter = split_char_by_char(fence + "\nAfter.\n")
    assert blocks == [fence + "\n"]
    assert splitter.tail == "After.\n"


def test_inline_triple_backticks_do_not_open_a_fence() -> None:
    fence = "```\ncode\n\nmore code\n```\n"
    document = "```x``` is inline code.\n\n" + fence + "\nAfter.\n"
    blocks, splitter = split_char_by_char(document)
    assert blocks == ["```x``` is inline code.\n\n", fence + "\n"]
    assert splitter.tail == "After.\n"


# -- MarkdownRenderer ---------------------------------------------------------------

RICH_DOCUMENT = """\
# Release notes

This version streams **Markdown** with `inline code`, *emphasis* and a
[link](https://example.com). It is long enough to wrap at eighty columns, which
checks that wrapping matches too.

## Changes

- faster rendering of **long** answers
- `--plain` for pipes

- a bullet after a blank line

1. install
2. run `vllm-chat`
3. enjoy

| Option    | Default | Meaning                 |
|-----------|---------|-------------------------|
| `--url`   | local   | server base URL         |
| `--model` | first   | model to talk to        |

```python
def greet(name: str) -> str:
    message = f"hello {name}"

    return message
print(greet("world"))
```

> A quote that spans
> two source lines.

### Thanks

That is all.
"""

HEIGHT = 400


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def make_console(height: int = HEIGHT) -> Console:
    return Console(
        file=io.StringIO(), width=80, height=height, force_terminal=True, color_system=None
    )


def output_of(console: Console) -> str:
    file = console.file
    assert isinstance(file, io.StringIO)
    return file.getvalue()


def play(output: str, screen: pyte.Screen) -> None:
    """Show `output` on `screen` as a tty would (ONLCR turns "\\n" into "\\r\\n")."""
    pyte.ByteStream(screen).feed(output.replace("\n", "\r\n").encode("utf-8"))


def screen_text(output: str, height: int = HEIGHT) -> list[str]:
    screen = pyte.Screen(80, height)
    play(output, screen)
    lines = [line.rstrip() for line in screen.display]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def all_lines(output: str, height: int) -> list[str]:
    """Scrollback and screen, top to bottom."""
    screen = ScrollbackScreen(80, height, history=100_000)
    play(output, screen)
    history = [
        "".join(line[column].data for column in range(screen.columns)).rstrip()
        for line in screen.history.top
    ]
    return history + [line.rstrip() for line in screen.display]


def pieces(text: str, step: int) -> list[str]:
    return [text[start : start + step] for start in range(0, len(text), step)]


def stream(
    deltas: list[str], console: Console, reasoning: list[str] | tuple[str, ...] = ()
) -> MarkdownRenderer:
    """Feed reasoning then answer deltas, 0.03 s apart on a fake clock, then finish."""
    clock = FakeClock()
    renderer = MarkdownRenderer(console, clock=clock)
    for delta in reasoning:
        renderer.feed_reasoning(delta)
        clock.now += 0.03
    for delta in deltas:
        renderer.feed(delta)
        clock.now += 0.03
    renderer.finish()
    return renderer


# The live region's cursor controls; anything else would come from the text.
_RICH_CONTROLS = re.compile(r"\x1b(?:\[(?:\?25[lh]|\d*[ABCDGJK])|[78])")


def foreign_escapes(output: str) -> str:
    """`output` without rich's cursor controls: what is left must hold no ESC."""
    return _RICH_CONTROLS.sub("", output)


def one_shot(document: str) -> list[str]:
    console = make_console()
    render_once(document, console)
    return screen_text(output_of(console))


def streamed(document: str, step: int) -> tuple[list[str], MarkdownRenderer]:
    console = make_console()
    renderer = stream(pieces(document, step), console)
    return screen_text(output_of(console)), renderer


@pytest.mark.parametrize("step", [1, 3, 11])
def test_streamed_markdown_looks_like_one_shot(step: int) -> None:
    expected = one_shot(RICH_DOCUMENT)
    shown, renderer = streamed(RICH_DOCUMENT, step)
    assert renderer.redraws > 5  # the live region really was drawn along the way
    assert "Release notes" in "\n".join(expected)  # sanity: the reference has content
    assert shown == expected


def test_streamed_standin_sample_looks_like_one_shot() -> None:
    shown, _ = streamed(MARKDOWN_SAMPLE, 6)
    assert shown == one_shot(MARKDOWN_SAMPLE)


@pytest.mark.parametrize(
    "document",
    [
        pytest.param(
            "Steps:\n1. do this\n\n2. then that\n\nDone.\n",
            id="list-after-paragraph-line",
        ),
        pytest.param(
            '```python\ndef f():\n    """\n    ```\n    """\n\nx = 1\n```\n\nAfter.\n',
            id="indented-fence-marker-in-code",
        ),
        pytest.param("Para one.\n\n---\n\nPara two.\n", id="thematic-break"),
        pytest.param("Title\n=====\n\nBody text.\n", id="setext-heading"),
        pytest.param("Para\n# Heading\nafter heading\n", id="heading-interrupts"),
    ],
)
def test_streamed_markdown_edge_cases(document: str) -> None:
    shown, _ = streamed(document, 2)
    assert shown == one_shot(document)


@pytest.mark.parametrize(
    "document",
    [
        pytest.param("Intro.\n\n```\n{}```\n\nAfter.\n", id="closed-fence"),
        pytest.param("```text\n{}", id="unclosed-fence"),
    ],
)
def test_tail_taller_than_the_screen_shows_every_line_once(document: str) -> None:
    height = 30
    code = "".join(f"code line M{index:03d}X\n" for index in range(200))
    console = make_console(height)
    renderer = stream(pieces(document.format(code), 7), console)
    assert renderer.redraws > 20
    lines = all_lines(output_of(console), height)
    markers = [marker for line in lines for marker in re.findall(r"M\d{3}X", line)]
    assert markers == [f"M{index:03d}X" for index in range(200)]


def test_live_region_follows_the_end_of_a_long_code_block() -> None:
    """Mid-stream, the screen shows the newest lines of an open fence (half a screen), in order."""
    height = 30
    console = make_console(height)
    clock = FakeClock()
    renderer = MarkdownRenderer(console, clock=clock)
    renderer.feed("Intro.\n\n```\n")
    for index in range(100):
        clock.now += 1.0 if index == 99 else 0.03  # the last line surely redraws
        renderer.feed(f"code line M{index:03d}X\n")
    screen = pyte.Screen(80, height)
    play(output_of(console), screen)
    markers = [m for line in screen.display for m in re.findall(r"M\d{3}X", line)]
    assert len(markers) >= (height - 1) // 2 - 3  # the live region is at most half the screen
    assert markers == [f"M{index:03d}X" for index in range(100 - len(markers), 100)]
    renderer.finish()


def test_long_list_taller_than_the_screen_shows_every_item_once() -> None:
    height = 20
    document = "".join(f"- item M{index:03d}X\n" for index in range(120))
    console = make_console(height)
    stream(pieces(document, 5), console)
    lines = all_lines(output_of(console), height)
    markers = [marker for line in lines for marker in re.findall(r"M\d{3}X", line)]
    assert markers == [f"M{index:03d}X" for index in range(120)]


def test_reasoning_then_answer() -> None:
    console = make_console()
    reasoning = [
        "Let me think",
        "\x1b]52;c;ZGF0YQ==\x07",
        " carefully.\nThen ",
        "\x1b[31m",
        "decide",
        "\x1b[0m",
        ".",
    ]
    stream(pieces("**The answer** is 42.\n", 4), console, reasoning=reasoning)
    output = output_of(console)
    assert "\x1b" not in foreign_escapes(output)
    assert "ZGF0YQ==" not in output
    text = "\n".join(screen_text(output))
    thinking = text.index("Thinking")
    first = text.index("Let me think carefully.")
    second = text.index("Then decide.")
    answer = text.index("The answer is 42.")
    assert thinking < first < second < answer
    assert text.count("Let me think") == 1
    assert text.count("The answer") == 1


def test_escapes_split_across_deltas_never_reach_the_output() -> None:
    """Cut anywhere, an escape sequence loses its ESC; leftovers show as plain text."""
    console = make_console()
    reasoning = "Hmm \x1b]52;c;ZGF0YQ==\x07 ok \x1b[2J\x1b[31mred\x1b[0m\n"
    answer = "A \x1b]8;;https://evil.example/\x1b\\link\x1b]8;;\x1b\\ \x1bc\x9b2J done.\n"
    stream(pieces(answer, 1), console, reasoning=pieces(reasoning, 1))
    output = output_of(console)
    assert "\x1b" not in foreign_escapes(output)
    assert not re.search("[\x80-\x9f]", output)
    assert "done." in "\n".join(screen_text(output))


def test_reasoning_only_escape_is_dropped() -> None:
    console = make_console()
    renderer = MarkdownRenderer(console, clock=FakeClock())
    renderer.feed_reasoning("\x1b[2J")
    renderer.feed("\x1b]52;c;ZGF0YQ==\x07")
    renderer.feed("Fine.")
    renderer.finish()
    output = output_of(console)
    assert "\x1b[2J" not in output
    assert "\x1b]" not in output
    assert screen_text(output) == ["Fine."]


def test_answer_is_sanitized() -> None:
    console = make_console()
    link = "\x1b]8;;https://evil.example/\x1b\\"
    deltas = ["Safe ", link, "link", "\x1b]8;;\x1b\\", " and \x07bell.\n"]
    stream(deltas, console)
    output = output_of(console)
    assert "\x1b" not in foreign_escapes(output)
    assert "evil.example" not in output
    assert screen_text(output) == ["Safe link and \u2407bell."]


def test_finish_note_and_empty_answer() -> None:
    console = make_console()
    renderer = MarkdownRenderer(console, clock=FakeClock())
    renderer.finish()
    assert screen_text(output_of(console)) == []
    renderer.feed("Partial answer")
    renderer.finish("interrupted")
    assert screen_text(output_of(console)) == ["Partial answer", "[interrupted]"]


def test_a_held_back_update_is_drawn_when_the_server_pauses() -> None:
    """With the real clock, an update the refresh rate held back still reaches the screen.

    The first delta is drawn at once; the second comes right after, within the same
    refresh interval, and is held back. Then nothing more comes (the server pauses) and
    `finish()` is not called: only the renderer's timer can draw the rest.
    """
    console = make_console()
    renderer = MarkdownRenderer(console)  # the real clock, time.monotonic: timers on
    renderer.feed("The first words")
    renderer.feed(", and the rest that was held back")
    whole = "The first words, and the rest that was held back"
    deadline = time.monotonic() + 20  # a bound on the wait, far above the 1/12 s it takes
    while screen_text(output_of(console)) != [whole]:
        shown = screen_text(output_of(console))
        assert time.monotonic() < deadline, f"the held-back text never showed: {shown}"
        time.sleep(0.02)
    renderer.finish()
    assert screen_text(output_of(console)) == [whole]

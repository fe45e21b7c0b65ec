"""ThinkSplitter: `<think>` reasoning split out of streamed content, however it is cut."""

from __future__ import annotations

import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vllm_chat.chat.think import GrowingText, ThinkSplitter, prompt_opens_think

Pieces = list[tuple[str, str]]


def merge(pieces: Pieces) -> Pieces:
    """Join adjacent pieces of the same kind."""
    merged: Pieces = []
    for kind, text in pieces:
        if merged and merged[-1][0] == kind:
            merged[-1] = (kind, merged[-1][1] + text)
        else:
            merged.append((kind, text))
    return merged


def run(chunks: list[str], starts_in_reasoning: bool = False) -> tuple[Pieces, ThinkSplitter]:
    """Feed `chunks` one by one, then finish; every piece, unmerged, and the splitter."""
    splitter = ThinkSplitter(starts_in_reasoning=starts_in_reasoning)
    pieces: Pieces = []
    for chunk in chunks:
        pieces += splitter.feed(chunk)
    pieces += splitter.finish()
    return pieces, splitter


def split(text: str, starts_in_reasoning: bool = False) -> Pieces:
    """One-shot feed, merged."""
    return merge(run([text], starts_in_reasoning)[0])


def joined(pieces: Pieces, kind: str) -> str:
    return "".join(text for k, text in pieces if k == kind)


def cut(text: str, points: list[int]) -> list[str]:
    cuts = [0, *sorted(set(points)), len(text)]
    return [text[a:b] for a, b in zip(cuts, cuts[1:], strict=False)]


def reference(text: str, starts_in_reasoning: bool = False) -> tuple[str, str, str, str]:
    """Split done by hand on the whole text.

    Returns (shown reasoning, shown content, reasoning_text, answer_text).
    """
    stripped = text.lstrip()
    opened = stripped.startswith("<think>")
    body = stripped[len("<think>") :] if opened else text
    if not (opened or starts_in_reasoning):  # an answer: all of it, verbatim
        return "", text, "", text
    head, close, tail = body.partition("</think>")
    if not close:
        return body, "", body, ""
    tail = tail.lstrip()
    return head, tail, head, tail


# -- plain answers --------------------------------------------------------------------


def test_plain_answer_is_unchanged_and_not_delayed() -> None:
    splitter = ThinkSplitter()
    assert splitter.feed("Hello") == [("content", "Hello")]
    assert splitter.feed(", wor") == [("content", ", wor")]
    assert splitter.feed("ld!\n") == [("content", "ld!\n")]
    assert splitter.finish() == []
    assert splitter.answer_text == "Hello, world!\n"
    assert splitter.reasoning_text == ""


def test_plain_answer_holds_nothing_back_once_it_began() -> None:
    splitter = ThinkSplitter()
    assert splitter.feed("a <") == [("content", "a <")]
    assert splitter.feed("/th") == [("content", "/th")]
    assert splitter.feed("ink>") == [("content", "ink>")]
    assert splitter.feed("x<b") == [("content", "x<b")]
    assert splitter.finish() == []
    assert splitter.answer_text == "a </think>x<b"


def test_answer_starting_with_less_than_waits_one_character() -> None:
    splitter = ThinkSplitter()
    assert splitter.feed("<") == []
    assert splitter.feed("b>bold") == [("content", "<b>bold")]


def test_content_after_the_think_block_is_never_held() -> None:
    splitter = ThinkSplitter()
    assert splitter.feed("<think>r</think>") == [("reasoning", "r")]
    assert splitter.feed("x </") == [("content", "x </")]
    assert splitter.feed("think") == [("content", "think")]
    assert splitter.feed(">") == [("content", ">")]


# -- the think block ------------------------------------------------------------------


def test_think_block_is_split_into_reasoning_then_content() -> None:
    pieces, splitter = run(["<think>\nLet me add.\n</think>\n\nIt is 4."])
    assert pieces == [("reasoning", "\nLet me add.\n"), ("content", "It is 4.")]
    assert splitter.reasoning_text == "\nLet me add.\n"
    assert splitter.answer_text == "It is 4."


def test_think_block_streams_as_it_comes() -> None:
    splitter = ThinkSplitter()
    assert splitter.feed("<think>") == []
    assert splitter.feed("Hmm, ") == [("reasoning", "Hmm, ")]
    assert splitter.feed("yes.</th") == [("reasoning", "yes.")]
    assert splitter.feed("ink>\n") == []
    assert splitter.feed("\nYes") == [("content", "Yes")]
    assert splitter.finish() == []


def test_leading_whitespace_before_think_is_dropped() -> None:
    splitter = ThinkSplitter()
    assert splitter.feed(" \n") == []
    assert splitter.feed("\t <thi") == []
    assert splitter.feed("nk>r</think>c") == [("reasoning", "r"), ("content", "c")]


def test_leading_whitespace_without_think_is_kept() -> None:
    splitter = ThinkSplitter()
    assert splitter.feed("\n ") == []
    assert splitter.feed(" Hi") == [("content", "\n  Hi")]
    assert splitter.answer_text == "\n  Hi"


def test_separator_whitespace_is_dropped_across_deltas() -> None:
    pieces, splitter = run(["<think>r</think>", " \n", "\n\t", " answer  "])
    assert merge(pieces) == [("reasoning", "r"), ("content", "answer  ")]
    assert splitter.answer_text == "answer  "


def test_only_whitespace_after_the_think_block_gives_an_empty_answer() -> None:
    pieces, splitter = run(["<think>r</think>\n\n"])
    assert pieces == [("reasoning", "r")]
    assert splitter.answer_text == ""


@pytest.mark.parametrize(
    "text", ["x<think>y", "Use the <think> tag.", "\n\nSo: <think>", "<b><think>", "a\n<think>\n"]
)
def test_think_tag_not_at_the_start_is_content(text: str) -> None:
    assert split(text) == [("content", text)]
    assert merge(run(list(text))[0]) == [("content", text)]


@pytest.mark.parametrize(
    "text", ["<thinking>hm</thinking> ok", "<think >x", "<Think>x</Think>", "<THINK>x"]
)
def test_other_tags_are_content(text: str) -> None:
    assert split(text) == [("content", text)]
    assert merge(run(list(text))[0]) == [("content", text)]


def test_only_the_exact_close_tag_ends_reasoning() -> None:
    assert split("<think>a</thinking>b</Think>c") == [("reasoning", "a</thinking>b</Think>c")]


def test_only_the_first_close_tag_counts() -> None:
    pieces, splitter = run(["<think>a</think>b</think>c<think>d"])
    assert merge(pieces) == [("reasoning", "a"), ("content", "b</think>c<think>d")]
    assert splitter.answer_text == "b</think>c<think>d"


def test_unclosed_think_block_is_all_reasoning() -> None:
    splitter = ThinkSplitter()
    assert splitter.feed("<think>still going </thi") == [("reasoning", "still going ")]
    assert splitter.finish() == [("reasoning", "</thi")]
    assert splitter.reasoning_text == "still going </thi"
    assert splitter.answer_text == ""


def test_empty_think_block() -> None:
    pieces, splitter = run(["<think>", "</think>", "\n\nHi"])
    assert pieces == [("content", "Hi")]
    assert splitter.reasoning_text == ""


# -- partial tags at the end ----------------------------------------------------------


@pytest.mark.parametrize("text", ["<thi", "<", "  <think", "abc </thi", "abc <"])
def test_partial_tag_at_finish_is_text(text: str) -> None:
    pieces, splitter = run([text])
    assert merge(pieces) == [("content", text)]
    assert splitter.answer_text == text


def test_partial_tag_at_finish_is_flushed_by_finish() -> None:
    splitter = ThinkSplitter()
    assert splitter.feed("<thi") == []
    assert splitter.finish() == [("content", "<thi")]


def test_partial_close_tag_at_the_end_of_reasoning_is_flushed_by_finish() -> None:
    splitter = ThinkSplitter(starts_in_reasoning=True)
    assert splitter.feed("hmm </thi") == [("reasoning", "hmm ")]
    assert splitter.finish() == [("reasoning", "</thi")]


def test_finish_twice_and_feed_after_finish() -> None:
    splitter = ThinkSplitter()
    splitter.feed("  <th")
    assert splitter.finish() == [("content", "  <th")]
    assert splitter.finish() == []
    with pytest.raises(RuntimeError):
        splitter.feed("more")


# -- the template already opened the block --------------------------------------------


def test_by_default_the_template_is_not_taken_to_open_the_block() -> None:
    # Without the flag, thinking that was never opened is an answer, shown and stored whole;
    # the same text from a template that opened the block is reasoning, then the answer.
    text = "Okay, 2+2.\n</think>\n\n4"
    splitter = ThinkSplitter()
    assert merge(splitter.feed(text) + splitter.finish()) == [("content", text)]
    assert (splitter.reasoning_text, splitter.answer_text) == ("", text)
    opened = ThinkSplitter(starts_in_reasoning=True)
    pieces = opened.feed(text) + opened.finish()
    assert merge(pieces) == [("reasoning", "Okay, 2+2.\n"), ("content", "4")]
    assert (opened.reasoning_text, opened.answer_text) == ("Okay, 2+2.\n", "4")


def test_starts_in_reasoning() -> None:
    splitter = ThinkSplitter(starts_in_reasoning=True)
    assert splitter.feed("Okay, 2+2") == [("reasoning", "Okay, 2+2")]
    assert splitter.feed(".\n</think>\n\n4") == [("reasoning", ".\n"), ("content", "4")]
    splitter.finish()
    assert splitter.reasoning_text == "Okay, 2+2.\n"
    assert splitter.answer_text == "4"


def test_starts_in_reasoning_without_close_is_all_reasoning() -> None:
    pieces, splitter = run(["  just thinking <"], starts_in_reasoning=True)
    assert merge(pieces) == [("reasoning", "  just thinking <")]
    assert splitter.answer_text == ""


def test_starts_in_reasoning_drops_a_redundant_open_tag() -> None:
    pieces, _ = run(["\n<think>r</think>c"], starts_in_reasoning=True)
    assert merge(pieces) == [("reasoning", "r"), ("content", "c")]


# -- once the answer began, it is all answer --------------------------------------------

CHAT_TEMPLATE_ANSWER = """\
A template that opens the block ends its generation prompt like this:

```jinja
{{- '<|im_start|>assistant\\n<think>\\n' }}
```

and the model closes it with

```
</think>
```
on a line of its own. Mid-line, </think> is just as harmless.
</think>
Even at a line start in prose."""


@pytest.mark.parametrize(
    "text",
    [
        CHAT_TEMPLATE_ANSWER,
        "Hmm, 2+2.\n</think>\n\n4 </think>",
        "x\n</think>",
        "Close the block with </think> here.",
        "Say <think> then\n<think>\nthen </think>\n</think>",
    ],
)
def test_a_close_tag_after_the_answer_began_is_answer_text(text: str) -> None:
    for chunks in ([text], list(text)):
        pieces, splitter = run(chunks)
        assert merge(pieces) == [("content", text)]
        assert splitter.answer_text == text
        assert splitter.reasoning_text == ""


def test_a_close_tag_at_the_very_start_of_an_answer_is_answer_text() -> None:
    # Without `<think>` first (and no template that opens it) nothing was opened.
    pieces, splitter = run(list("</think>\n\nHi"))
    assert merge(pieces) == [("content", "</think>\n\nHi")]
    assert splitter.answer_text == "</think>\n\nHi"


def test_the_answer_after_a_think_block_keeps_its_tags() -> None:
    text = "<think>r</think>\n\nThe template ends with:\n```\n</think>\n```\n<think> too."
    pieces, splitter = run(list(text))
    answer = "The template ends with:\n```\n</think>\n```\n<think> too."
    assert merge(pieces) == [("reasoning", "r"), ("content", answer)]
    assert splitter.answer_text == answer


# -- the server's prompt: does the template open the block? ---------------------------


@pytest.mark.parametrize(
    ("token_strs", "opens"),
    [
        # DeepSeek-R1: the generation prompt ends in `<think>\n`.
        (["<｜begin▁of▁sentence｜>", "<｜User｜>", "hi", "<｜Assistant｜>", "<think>", "Ċ"], True),
        # Qwen3 thinking models, byte-level BPE: `Ċ` newline, `Ġ` space.
        (
            ["<|im_start|>", "user", "Ċ", "hi", "Ġthere", "<|im_end|>", "Ċ"]
            + ["<|im_start|>", "assistant", "Ċ", "<think>", "Ċ"],
            True,
        ),
        # The tag in pieces, and whitespace as SentencePiece and byte tokens spell it.
        (["▁Assistant:", "<", "think", ">", "<0x0A>", "▁"], True),
        (["<think>"], True),
        # Plain ChatML: no thinking opened.
        (["<|im_start|>", "assistant", "Ċ"], False),
        # Qwen3 with enable_thinking false: an empty block, already closed.
        (["<|im_start|>", "assistant", "Ċ", "<think>", "ĊĊ", "</think>", "ĊĊ"], False),
        # The tag in the user's words is not the end of the prompt.
        (
            ["<|im_start|>", "user", "Ċ", "<think>", "<|im_end|>", "<|im_start|>", "assistant"],
            False,
        ),
        ([], False),
    ],
)
def test_prompt_opens_think(token_strs: list[str], opens: bool) -> None:
    assert prompt_opens_think(token_strs) is opens


# -- every cut of the tags ------------------------------------------------------------

SAMPLES = [
    (
        "  \n<think>\nweigh </thin it</think>\n\nSay <think> or </think>, <thinking>.",
        False,
        [
            ("reasoning", "\nweigh </thin it"),
            ("content", "Say <think> or </think>, <thinking>."),
        ],
    ),
    (
        "first thoughts <\n</think>\n answer <thi",
        True,
        [("reasoning", "first thoughts <\n"), ("content", "answer <thi")],
    ),
    (
        "shown <b>\n</think>\n answer </think>",
        False,
        [("content", "shown <b>\n</think>\n answer </think>")],
    ),
    (
        "```\n</think>\n```\n",
        False,
        [("content", "```\n</think>\n```\n")],
    ),
    ("\n<thinking> no </think", False, [("content", "\n<thinking> no </think")]),
]


@pytest.mark.parametrize(("text", "starts_in_reasoning", "expected"), SAMPLES)
def test_every_cut_gives_the_same_pieces(
    text: str, starts_in_reasoning: bool, expected: Pieces
) -> None:
    assert split(text, starts_in_reasoning) == expected
    assert merge(run(list(text), starts_in_reasoning)[0]) == expected
    for point in range(len(text) + 1):
        chunks = [text[:point], text[point:]]
        assert merge(run(chunks, starts_in_reasoning)[0]) == expected, point


# -- size -----------------------------------------------------------------------------


def test_large_deltas() -> None:
    text = "<think>" + "r" * 150_000 + "</think>\n\n" + "a" * 150_000
    pieces, splitter = run(cut(text, list(range(30_000, len(text), 30_000))))
    assert merge(pieces) == [("reasoning", "r" * 150_000), ("content", "a" * 150_000)]
    assert splitter.answer_text == "a" * 150_000


# -- any text, any cut ----------------------------------------------------------------

FRAGMENTS = ["<think>", "</think>", "<thi", "</thin", "<thinking>", "<", "/", ">", "think"]
texts = st.lists(
    st.sampled_from(FRAGMENTS) | st.sampled_from([" ", "\n", "\t"]) | st.text(max_size=3),
    max_size=12,
).map("".join)


@st.composite
def texts_and_chunks(draw: st.DrawFn) -> tuple[str, list[str]]:
    text = draw(texts)
    points = draw(st.lists(st.integers(0, len(text)), max_size=len(text)))
    return text, cut(text, points)


@settings(max_examples=500, deadline=None)
@given(texts_and_chunks(), st.booleans())
def test_any_chunking_gives_the_one_shot_result(
    case: tuple[str, list[str]], starts_in_reasoning: bool
) -> None:
    text, chunks = case
    pieces, splitter = run(chunks, starts_in_reasoning)
    whole, one_shot = run([text], starts_in_reasoning)
    assert all(piece for _, piece in pieces)
    for kind in ("reasoning", "content"):
        assert joined(pieces, kind) == joined(whole, kind)
    assert splitter.reasoning_text == one_shot.reasoning_text
    assert splitter.answer_text == one_shot.answer_text


@settings(max_examples=500, deadline=None)
@given(texts_and_chunks(), st.booleans())
def test_only_tags_and_their_whitespace_are_lost(
    case: tuple[str, list[str]], starts_in_reasoning: bool
) -> None:
    text, chunks = case
    pieces, splitter = run(chunks, starts_in_reasoning)
    shown_reasoning, shown_content, reasoning, answer = reference(text, starts_in_reasoning)
    # Reasoning always comes before content, so joining per kind keeps the order.
    assert "".join(t for _, t in pieces) == shown_reasoning + shown_content
    assert joined(pieces, "reasoning") == shown_reasoning
    assert joined(pieces, "content") == shown_content
    assert splitter.reasoning_text == reasoning
    assert splitter.answer_text == answer


@settings(max_examples=500, deadline=None)
@given(texts_and_chunks(), st.booleans())
def test_only_a_possible_tag_is_held_back(
    case: tuple[str, list[str]], starts_in_reasoning: bool
) -> None:
    _, chunks = case
    splitter = ThinkSplitter(starts_in_reasoning=starts_in_reasoning)
    fed = ""
    for chunk in chunks:
        splitter.feed(chunk)
        fed += chunk
        held = "".join(t for _, t in copy.deepcopy(splitter).finish())
        at_start = held == fed and "<think>".startswith(held.lstrip())
        partial_close = fed.endswith(held) and "</think>".startswith(held)
        assert held == "" or at_start or (partial_close and held != "</think>"), (fed, held)


def test_a_long_answer_is_kept_whole_in_few_objects() -> None:
    splitter = ThinkSplitter()
    pieces = [f"{n:04d}" for n in range(10_000)]  # 40,000 characters in 4-character deltas
    for piece in pieces:
        splitter.feed(piece)
    splitter.finish()
    assert splitter.answer_text == "".join(pieces)
    text = GrowingText()
    for piece in pieces[:GrowingText.BATCH + 1]:
        text.append(piece)
    assert len(text._joined) == 1 and len(text._pieces) == 1  # a batch joined, one piece after
    whole = str(text)
    assert whole == "".join(pieces[:GrowingText.BATCH + 1])
    assert str(text) is whole and text._joined == [whole]  # joined once, the pieces gone
    text.append("more")
    assert str(text) == whole + "more"

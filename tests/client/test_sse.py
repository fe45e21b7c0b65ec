"""SSEDecoder: bytes in, `data` payloads out, however the bytes are cut."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from vllm_chat.client.sse import SSEDecoder


def decode(*chunks: bytes) -> list[str]:
    """Feed `chunks` one by one, then close; every payload in order."""
    decoder = SSEDecoder()
    payloads: list[str] = []
    for chunk in chunks:
        payloads += decoder.feed(chunk)
    return payloads + decoder.close()


def split_at(data: bytes, points: list[int]) -> list[bytes]:
    cuts = [0, *sorted(set(points)), len(data)]
    return [data[a:b] for a, b in zip(cuts, cuts[1:], strict=False)]


# -- the field syntax ---------------------------------------------------------------


def test_data_with_and_without_space() -> None:
    assert decode(b"data: hello\n\ndata:world\n\n") == ["hello", "world"]


def test_only_one_leading_space_is_removed() -> None:
    assert decode(b"data:  two spaces\n\ndata:\tx\n\n") == [" two spaces", "\tx"]


def test_payloads_come_out_when_their_event_completes() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: one\n") == []
    assert decoder.feed(b"\n") == ["one"]
    assert decoder.feed(b"data: two\n\ndata: three\n\n") == ["two", "three"]
    assert decoder.close() == []


def test_multi_line_data_is_joined_with_newlines() -> None:
    assert decode(b"data: first\ndata: second\ndata:third\n\n") == ["first\nsecond\nthird"]


def test_empty_data_line_gives_empty_payload_piece() -> None:
    assert decode(b"data:\n\n") == [""]
    assert decode(b"data: a\ndata:\ndata: b\n\n") == ["a\n\nb"]


def test_comment_lines_are_ignored() -> None:
    stream = b": keep-alive\n\ndata: a\n: inside an event\ndata: b\n\n:\n\n"
    assert decode(stream) == ["a\nb"]


def test_blank_lines_without_data_dispatch_nothing() -> None:
    assert decode(b"\n\n\r\n\r\r\ndata: x\n\n\n\n") == ["x"]


def test_event_id_and_retry_fields_are_ignored() -> None:
    stream = b"event: message\nid: 7\nretry: 1000\ndata: payload\n\nevent: ping\n\n"
    assert decode(stream) == ["payload"]


def test_line_without_colon_is_a_field_name_not_data() -> None:
    assert decode(b"nonsense\ndata: kept\n\n") == ["kept"]


# -- line ends ----------------------------------------------------------------------


def test_lf_crlf_and_cr_line_ends() -> None:
    assert decode(b"data: lf\n\n") == ["lf"]
    assert decode(b"data: crlf\r\n\r\n") == ["crlf"]
    assert decode(b"data: cr\r\r") == ["cr"]
    assert decode(b"data: a\r\ndata: b\rdata: c\n\r\n") == ["a\nb\nc"]


def test_crlf_split_between_two_feeds() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: one\r") == []
    # The "\n" completes the CRLF of the data line; it is not a second, blank line.
    assert decoder.feed(b"\n") == []
    assert decoder.feed(b"data: two\r") == []
    assert decoder.feed(b"\n\r") == []
    assert decoder.feed(b"\n") == ["one\ntwo"]
    assert decoder.close() == []


def test_cr_at_end_of_feed_then_other_text() -> None:
    """A CR that turns out not to start a CRLF still ends the line."""
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r") == []
    assert decoder.feed(b"\r") == []  # blank line, but the decoder cannot know yet...
    assert decoder.feed(b"data: b\r\r") == ["a"]  # ...until something other than LF follows
    assert decoder.close() == ["b"]


def test_unicode_line_separators_inside_data_are_not_line_ends() -> None:
    text = "a\u2028b\u2029c\x85d\x0be\x0cf\x1cg"
    assert decode(f"data: {text}\n\n".encode()) == [text]


# -- UTF-8 --------------------------------------------------------------------------


def test_multibyte_characters_split_at_every_byte_offset() -> None:
    text = "café 日本語 🎉 naïve €"
    data = f"data: {text}\n\n".encode()
    for cut in range(len(data) + 1):
        assert decode(data[:cut], data[cut:]) == [text], cut


def test_one_byte_at_a_time() -> None:
    text = "Ωμέγα 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ✓"
    data = f"data: {text}\r\n\r\ndata: [DONE]\r\n\r\n".encode()
    assert decode(*(data[i : i + 1] for i in range(len(data)))) == [text, "[DONE]"]


def test_invalid_utf8_is_replaced_not_raised() -> None:
    assert decode(b"data: a\xffb\n\n") == ["a\ufffdb"]


# -- end of stream ------------------------------------------------------------------


def test_close_flushes_complete_last_event_without_blank_line() -> None:
    assert decode(b"data: a\n\ndata: last\n") == ["a", "last"]
    assert decode(b"data: last\r\n") == ["last"]
    assert decode(b"data: last\r") == ["last"]


def test_close_drops_truncated_last_line() -> None:
    assert decode(b"data: a\n\ndata: trunc") == ["a"]
    assert decode(b"data: first\ndata: trunc") == ["first"]
    assert decode(b"data: trunc") == []


def test_close_with_nothing_pending() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\n\n") == ["a"]
    assert decoder.close() == []


def test_close_with_truncated_multibyte_character() -> None:
    assert decode(b"data: ok\n\ndata: \xe6\x97") == ["ok"]


# -- properties ---------------------------------------------------------------------

_LINE_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"),
    max_size=20,
)
_PAYLOAD = st.lists(_LINE_TEXT, min_size=1, max_size=3).map("\n".join)


@st.composite
def event_streams(draw: st.DrawFn) -> tuple[bytes, list[str]]:
    """A valid event stream and the payloads it carries."""
    payloads = draw(st.lists(_PAYLOAD, max_size=6))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    space = draw(st.booleans())
    comments = draw(st.booleans())
    final_blank = draw(st.booleans())
    parts: list[str] = []
    for index, payload in enumerate(payloads):
        if comments:
            parts.append(f": keep-alive {index}{newline}")
        for line in payload.split("\n"):
            # Without the optional space a value that starts with one would lose it.
            sep = " " if space or line.startswith(" ") else ""
            parts.append(f"data:{sep}{line}{newline}")
        if index < len(payloads) - 1 or final_blank:
            parts.append(newline)
    return "".join(parts).encode(), payloads


@settings(max_examples=200, deadline=None)
@given(event_streams(), st.data())
def test_any_split_gives_the_same_payloads(
    stream: tuple[bytes, list[str]], data: st.DataObject
) -> None:
    raw, payloads = stream
    points = data.draw(st.lists(st.integers(0, len(raw)), max_size=12), label="cuts")
    assert decode(raw) == payloads
    assert decode(*split_at(raw, points)) == payloads


def by_the_rules(raw: bytes) -> list[str]:
    """The event-stream rules applied to the whole stream at once, not as it arrives.

    WHATWG's rules, with this client's one choice: a last event whose lines are complete
    but that lacks its blank line is still delivered at the end of the stream.
    """
    text = raw.decode("utf-8", errors="replace").removeprefix("\ufeff")
    *lines, _truncated = re.split(r"\r\n|\r|\n", text)  # a line without its end is dropped
    events: list[str] = []
    data: list[str] = []
    for line in lines:
        if not line:
            if data:
                events.append("\n".join(data))
            data = []
        elif not line.startswith(":"):
            name, _, value = line.partition(":")
            if name == "data":
                data.append(value.removeprefix(" "))
    if data:
        events.append("\n".join(data))
    return events


# Lines of event streams with anything in them: fields with and without their colon
# and space, comments, blank lines, every line end, invalid and split UTF-8, U+2028
# (not a line end), a byte order mark first, and a truncated last line.
_PIECES = st.sampled_from(
    [b"x", b" ", b":", b"\xe6\x97\xa5", b"\xe6\x97", b"\xff", "\u2028".encode()]
)
_SSE_LINE = st.tuples(
    st.sampled_from([b"data:", b"data: ", b"data", b":", b"", b"event: x", b"retry"]),
    st.lists(_PIECES | st.binary(max_size=3), max_size=4).map(b"".join),
    st.sampled_from([b"\n", b"\r", b"\r\n"]),
).map(b"".join)
_SSE_BYTES = st.tuples(
    st.sampled_from([b"", b"\xef\xbb\xbf"]),
    st.lists(_SSE_LINE, max_size=8).map(b"".join),
    st.sampled_from([b"", b"data: trunc", b"\xe6\x97"]),
).map(b"".join)


@settings(max_examples=300, deadline=None)
@given(_SSE_BYTES | st.binary(max_size=300), st.data())
def test_arbitrary_bytes_never_raise_and_decode_by_the_rules(
    raw: bytes, data: st.DataObject
) -> None:
    points = data.draw(st.lists(st.integers(0, len(raw)), max_size=10), label="cuts")
    assert decode(*split_at(raw, points)) == by_the_rules(raw)

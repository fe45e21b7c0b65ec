"""Token probabilities: the token view (each token coloured by how sure the model was),
and the table `/alt` shows of the least certain positions.

Tokens come in OpenAI's shape (`client.events.Logprobs`): `{"token", "logprob", "bytes",
"top_logprobs": [...]}`. A token need not be whole characters: vLLM sends a byte that
starts a character as `""` with no bytes (the token that ends it carries the whole
character), OpenAI as `bytes:\\xe2\\x80`; such bytes are shown escaped, never raw.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TextIO

from vllm_chat.render.environment import Environment
from vllm_chat.render.plain import PlainRenderer

Token = Mapping[str, Any]

# (lowest probability, colour, mark without colour (NO_COLOR), legend word): a token's
# style is that of the first row it reaches.
LEVELS = (
    (0.9, "", "", "plain ≥ 90 %"),
    (0.5, "33", "", "yellow ≥ 50 %"),
    (0.1, "38;5;208", "4", "orange ≥ 10 %"),
    (0.0, "31", "1;4", "red < 10 %"),
)
NO_COLOR_LEGEND = "tokens: plain ≥ 50 %, underlined ≥ 10 %, bold underlined < 10 %"
PARTIAL = "‹byte›"  # a token that is part of a character and carries none of its text
QUEUE_LIMIT = 512  # tokens waiting for their text; older ones never showed (tool calls)


def probability(logprob: float) -> float:
    return math.exp(min(logprob, 0.0))


def style(logprob: float | None, color: bool) -> str:
    """The SGR style of a token of `logprob` (None: unknown, shown plain)."""
    if logprob is None:
        return ""
    p = probability(logprob)
    for lowest, colour, mark, _ in LEVELS:
        if p >= lowest:
            return colour if color else mark
    return ""


def legend(color: bool) -> str:
    """One line saying what the styles mean, in those styles."""
    if not color:
        return NO_COLOR_LEGEND
    words = [f"\x1b[{c}m{w}\x1b[0m" if c else w for _, c, _, w in LEVELS]
    return "tokens: " + " · ".join(words)


def percent(logprob: float) -> str:
    """`97 %`, `4.2 %`, `0.031 %`, `<0.001 %`."""
    p = probability(logprob) * 100
    if p >= 10:
        return f"{p:.0f} %"
    return f"{p:.2g} %" if p >= 0.001 else "<0.001 %"


def token_text(token: Token) -> str:
    """What the token adds to the answer's text ('' for a part of a character)."""
    text = token.get("token")
    if not isinstance(text, str) or text.startswith("bytes:"):
        return ""
    return text


def shown(token: Token) -> str:
    """The token quoted for a table: controls and bytes that are not whole characters
    escaped (`"\\xe2\\x80"`), never raw; `‹byte›` for vLLM's empty part of a character."""
    text = token_text(token) or str(token.get("token") or "")
    raw = token.get("bytes")
    if text.startswith("bytes:"):  # OpenAI's form: the bytes already written escaped
        text = text[len("bytes:") :]
    elif isinstance(raw, list) and raw and all(isinstance(b, int) and 0 <= b < 256 for b in raw):
        text = bytes(raw).decode("utf-8", errors="backslashreplace")
    if not text:
        return PARTIAL
    return '"' + "".join(_escaped(char) for char in text) + '"'


def _escaped(char: str) -> str:
    code = ord(char)
    if char in "\n\t\r":
        return {"\n": "\\n", "\t": "\\t", "\r": "\\r"}[char]
    if code < 0x20 or 0x7F <= code <= 0x9F:
        return f"\\x{code:02x}"
    return char


def least_certain(tokens: Sequence[Token], count: int) -> list[int]:
    """The positions of the `count` least probable tokens, least probable first."""
    order = sorted(range(len(tokens)), key=lambda i: (_logprob(tokens[i]), i))
    return order[:count]


def positions_of(tokens: Sequence[Token], text: str) -> list[int]:
    """The positions of the tokens that make up each occurrence of `text` (exact case,
    else any case), in order."""
    starts, joined = [], []
    offset = 0
    for token in tokens:
        starts.append(offset)
        piece = token_text(token)
        joined.append(piece)
        offset += len(piece)
    whole = "".join(joined)
    for haystack, needle in ((whole, text), (whole.lower(), text.lower())):
        found: set[int] = set()
        at = haystack.find(needle)
        while needle and at >= 0:
            end = at + len(needle)
            found.update(i for i, s in enumerate(starts) if s < end and s + len(joined[i]) > at)
            at = haystack.find(needle, at + 1)
        if found:
            return sorted(found)
    return []


def alternatives_table(tokens: Sequence[Token], positions: Iterable[int]) -> str:
    """A row per position: its number (from 1), the token chosen, its probability, and
    the top alternatives with theirs (the chosen one left out)."""
    rows = []
    for index in positions:
        token = tokens[index]
        chosen = (token.get("token"), _logprob(token))
        others, skipped = [], False
        for alt in token.get("top_logprobs") or []:
            if not skipped and (alt.get("token"), _logprob(alt)) == chosen:
                skipped = True
                continue
            others.append(f"{shown(alt)} {percent(_logprob(alt))}")
        rows.append((str(index + 1), shown(token), percent(_logprob(token)), " · ".join(others)))
    head = ("pos", "token", "prob", "alternatives")
    widths = [max(len(row[c]) for row in [head, *rows]) for c in range(3)]
    lines = []
    for row in [head, *rows]:
        lines.append(f"{row[0]:>{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]:>{widths[2]}}  "
                     f"{row[3]}".rstrip())  # fmt: skip
    return "\n".join(lines)


def _logprob(token: Token) -> float:
    value = token.get("logprob")
    return float(value) if isinstance(value, (int, float)) else -9999.0


class TokenRenderer(PlainRenderer):
    """The answer as text, each token in the style of its probability (see `LEVELS`).

    Append-only: each delta is written once, in pieces matched to the tokens that
    `feed_logprobs` announced before it. Text no token accounts for (vLLM's `�` for a
    byte that never became a character) is plain; tokens announced earlier that never
    showed up (`<think>` taken out by a reasoning parser) are dropped at the next text.
    """

    def __init__(
        self,
        out: TextIO,
        side: TextIO | None = None,
        *,
        env: Environment | None = None,
        legend: bool = False,
    ) -> None:
        super().__init__(out, side, env=env)
        self._queue: deque[list[Any]] = deque()  # [text still to show, logprob, batch]
        self._batch = 0
        self._legend = legend

    def feed_logprobs(self, tokens: Sequence[Token]) -> None:
        """The tokens of the text that comes next (one chunk's)."""
        self._batch += 1
        for token in tokens:
            text = token_text(token)
            if text:
                self._queue.append([text, _logprob(token), self._batch])
        while len(self._queue) > QUEUE_LIMIT:
            self._queue.popleft()

    def feed(self, text: str) -> None:
        if not text:
            return
        self._show_legend()
        for piece, logprob in self._pieces(text):
            sgr = style(logprob, self._color)
            if sgr:
                self._out.write(f"\x1b[{sgr}m")
            super().feed(piece)
            if sgr:
                self._out.write("\x1b[0m")
        self._out.flush()

    def feed_reasoning(self, text: str) -> None:
        self._show_legend()
        for _ in self._pieces(text):  # its tokens are used up; thinking is shown dim
            pass
        super().feed_reasoning(text)

    def _show_legend(self) -> None:
        if self._legend:
            self._legend = False
            self._out.write(legend(self._color) + "\n")

    def _pieces(self, text: str) -> list[tuple[str, float | None]]:
        """`text` cut where its tokens change, each piece with its token's logprob."""
        pieces: list[tuple[str, float | None]] = []
        at = 0
        while at < len(text):
            queue = self._queue
            while queue and queue[0][2] < self._batch and not text.startswith(queue[0][0][0], at):
                queue.popleft()  # announced before, never shown: not this text's token
            if not queue:
                pieces.append((text[at:], None))
                break
            left, logprob, _ = queue[0]
            size = 0
            limit = min(len(left), len(text) - at)
            while size < limit and left[size] == text[at + size]:
                size += 1
            if size == 0:  # a character no token accounts for
                pieces.append((text[at], None))
                at += 1
                continue
            pieces.append((text[at : at + size], logprob))
            at += size
            if size == len(left):
                queue.popleft()
            else:
                queue[0][0] = left[size:]
        return _merged(pieces)


def _merged(pieces: list[tuple[str, float | None]]) -> list[tuple[str, float | None]]:
    """Neighbouring pieces of one token joined (a token split across the matching)."""
    out: list[tuple[str, float | None]] = []
    for piece in pieces:
        if out and out[-1][1] is None and piece[1] is None:
            out[-1] = (out[-1][0] + piece[0], None)
        else:
            out.append(piece)
    return out

"""Split `<think>...</think>` reasoning out of streamed answer text. Pure, no I/O.

A server run without a reasoning parser sends the model's thinking inside the
ordinary content: `<think>reasoning</think>answer`. When the chat template has
already emitted the opening tag (Qwen3 thinking models, DeepSeek-R1), the content
starts straight with the reasoning and only `</think>` shows up; the caller knows
that from the server (`prompt_opens_think`), never from the answer itself.

Only a `<think>` at the very start of an answer (after whitespace), or the
template, opens reasoning; once the answer proper has begun, every character is
content, tags included. Deltas can cut a tag at any character, so the splitter
holds back the few characters that may still become one, and nothing else.
"""

from __future__ import annotations

import re

OPEN_TAG = "<think>"
CLOSE_TAG = "</think>"
REASONING = "reasoning"
CONTENT = "content"

# Where the splitter is in the answer.
_START = "start"  # leading whitespace and maybe part of `<think>`: undecided
_REASONING = "reasoning"  # inside the think block, looking for `</think>`
_SEPARATOR = "separator"  # just after `</think>`: dropping whitespace
_ANSWER = "answer"  # the answer proper: everything is content, tags included

# How byte-level BPE and SentencePiece vocabularies spell whitespace in token strings.
_TOKEN_SPACES = (("Ġ", " "), ("Ċ", "\n"), ("ĉ", "\t"), ("▁", " "))
_BYTE_TOKEN = re.compile(r"<0x([0-9A-Fa-f]{2})>")


def prompt_opens_think(token_strs: list[str]) -> bool:
    """Does a prompt, as the server's token strings, end with `<think>` (and whitespace)?

    That is a chat template that opens the think block itself, so the answer
    starts inside it.
    """
    text = _BYTE_TOKEN.sub(lambda m: chr(int(m.group(1), 16)), "".join(token_strs))
    for marker, char in _TOKEN_SPACES:
        text = text.replace(marker, char)
    return text.rstrip().endswith(OPEN_TAG)


def _partial_tag_len(text: str, tag: str) -> int:
    """Length of the longest end of `text` that is a proper prefix of `tag`."""
    if "<" not in text[-(len(tag) - 1) :]:  # the common case, once per delta
        return 0
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:size]):
            return size
    return 0


class GrowingText:
    """Text that grows by a streamed piece at a time, kept in few objects.

    A `str` per piece costs some 50 bytes besides its 4 or so characters: a 100,000-token
    answer would take 6 MB to keep 400 KB. Every `BATCH` pieces are joined into one.
    """

    BATCH = 256

    def __init__(self) -> None:
        self._joined: list[str] = []
        self._pieces: list[str] = []

    def append(self, text: str) -> None:
        self._pieces.append(text)
        if len(self._pieces) >= self.BATCH:
            self._joined.append("".join(self._pieces))
            self._pieces.clear()

    def __str__(self) -> str:
        # One join, kept: the pieces' copy goes, and asking again copies nothing.
        if self._pieces or len(self._joined) > 1:
            self._joined = ["".join([*self._joined, *self._pieces])]
            self._pieces.clear()
        return self._joined[0] if self._joined else ""


class ThinkSplitter:
    """Split one answer's streamed content into reasoning and content pieces.

    `starts_in_reasoning=True` means the chat template already opened the think
    block, so everything up to `</think>` is reasoning. Otherwise only a
    `<think>` at the very start opens one; any other first text makes the whole
    rest of the answer content, whatever tags it holds.
    """

    def __init__(self, starts_in_reasoning: bool = False) -> None:
        self._starts_in_reasoning = starts_in_reasoning
        self._state = _START
        self._lead_ws: list[str] = []  # whitespace before the start was decided
        self._held = ""  # end of the text so far that may still become a tag
        self._reasoning = GrowingText()
        self._answer = GrowingText()
        self._finished = False

    @property
    def reasoning_text(self) -> str:
        """The think block's text, without its tags."""
        return str(self._reasoning)

    @property
    def answer_text(self) -> str:
        """The answer to store: no think block, no separator whitespace; its own tags kept."""
        return str(self._answer)

    def feed(self, text: str) -> list[tuple[str, str]]:
        """Take the next delta; return the `(kind, text)` pieces that are now certain."""
        if self._finished:
            raise RuntimeError("feed() after finish()")
        out: list[tuple[str, str]] = []
        # A state may hand the rest of the text on to the next state.
        while text:
            if self._state == _START:
                text = self._start(text, out)
            elif self._state == _REASONING:
                text = self._until_close(text, out)
            elif self._state == _SEPARATOR:
                stripped = text.lstrip()
                if stripped:
                    self._state = _ANSWER
                text = stripped
            else:
                self._emit(CONTENT, text, out)
                text = ""
        return out

    def finish(self) -> list[tuple[str, str]]:
        """End of the answer: return what was held back, as the kind it was in."""
        out: list[tuple[str, str]] = []
        if self._finished:
            return out
        self._finished = True
        if self._state == _START:
            self._emit(self._fallback_kind(), "".join(self._lead_ws) + self._held, out)
        elif self._state == _REASONING:
            self._emit(REASONING, self._held, out)
        self._lead_ws.clear()
        self._held = ""
        return out

    def _fallback_kind(self) -> str:
        return REASONING if self._starts_in_reasoning else CONTENT

    def _start(self, text: str, out: list[tuple[str, str]]) -> str:
        """Decide whether the answer opens with `<think>`; return the text left over."""
        if not self._held:
            stripped = text.lstrip()
            self._lead_ws.append(text[: len(text) - len(stripped)])
            text = stripped
            if not text:
                return ""
        candidate = self._held + text
        if candidate.startswith(OPEN_TAG):
            self._lead_ws.clear()
            self._held = ""
            self._state = _REASONING
            return candidate[len(OPEN_TAG) :]
        if OPEN_TAG.startswith(candidate):
            self._held = candidate
            return ""
        # No opening tag: the whitespace was part of the text after all.
        self._held = ""
        self._state = _REASONING if self._starts_in_reasoning else _ANSWER
        lead = "".join(self._lead_ws)
        self._lead_ws.clear()
        return lead + candidate

    def _until_close(self, text: str, out: list[tuple[str, str]]) -> str:
        """Emit reasoning up to `</think>`; return what follows the tag, if it came."""
        text = self._held + text
        end = text.find(CLOSE_TAG)
        if end < 0:
            keep = _partial_tag_len(text, CLOSE_TAG)
            self._held = text[len(text) - keep :]
            self._emit(REASONING, text[: len(text) - keep], out)
            return ""
        self._held = ""
        self._emit(REASONING, text[:end], out)
        self._state = _SEPARATOR
        return text[end + len(CLOSE_TAG) :]

    def _emit(self, kind: str, text: str, out: list[tuple[str, str]]) -> None:
        if not text:
            return
        (self._reasoning if kind == REASONING else self._answer).append(text)
        if out and out[-1][0] == kind:
            out[-1] = (kind, out[-1][1] + text)
        else:
            out.append((kind, text))

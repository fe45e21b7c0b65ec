"""Where a streamed Markdown text's blocks end: each line examined once. Pure, no I/O."""

from __future__ import annotations

import re

from vllm_chat.render.fences import Fence, opening

_LIST_ITEM = re.compile(r"\s{0,3}(?:[-*+]|\d{1,9}[.)])(?:\s|$)")
_HEADING = re.compile(r"#{1,6}(?:\s|$)")


class BlockSplitter:
    """Cuts a growing Markdown text into finished blocks and an unfinished tail.

    Each line is examined once, when its line end arrives. A block is finished
    when a later line starts a new one: after a blank line (outside a code
    fence) an unindented line that does not continue the same list, or any
    line after a closed top-level fence or a heading.
    """

    def __init__(self) -> None:
        # The unfinished block, as lines, and the unfinished line, as pieces: joining
        # a growing string on every delta would cost the square of a long block.
        self._block: list[str] = []
        self._block_len = 0
        self._line: list[str] = []
        self._fence: Fence | None = None
        self.fence_start = 0  # offset in `tail` of the open fence's first line
        self._blank_before = False
        self._block_started = False
        self._block_is_list = False
        self._closed_block = False  # last line was a closing fence or a heading

    @property
    def in_fence(self) -> bool:
        return self._fence is not None

    @property
    def tail(self) -> str:
        """The text not yet part of a finished block."""
        return "".join(self._block) + "".join(self._line)

    @property
    def lines(self) -> list[str]:
        """The tail's complete lines (not to be changed)."""
        return self._block

    @property
    def partial(self) -> str:
        return "".join(self._line)

    def take_closed_fence(self) -> str | None:
        """The tail's complete lines if they are a top-level fence just closed: finished."""
        if self.in_fence or not self._block or self._block[0][:1] not in "`~":
            return None
        block = "".join(self._block)
        self._block.clear()
        self._block_len = 0
        self._block_started = self._closed_block = self._blank_before = False
        return block

    def append(self, text: str) -> list[str]:
        """Add streamed text; return the blocks it finished, in order."""
        blocks: list[str] = []
        start = 0
        while (end := text.find("\n", start)) != -1:
            self._line.append(text[start : end + 1])
            start = end + 1
            line = "".join(self._line)
            self._line.clear()
            was_in_fence = self.in_fence
            if self._starts_new_block(line[:-1]) and self._block:
                blocks.append("".join(self._block))
                self._block.clear()
                self._block_len = 0
            if self.in_fence and not was_in_fence:
                self.fence_start = self._block_len
            self._block.append(line)
            self._block_len += len(line)
        if start < len(text):
            self._line.append(text[start:])
        return blocks

    def _starts_new_block(self, line: str) -> bool:
        if self._fence is not None:
            if self._fence.closed_by(line):
                self._fence = None
                self._closed_block = not line[:1].isspace()
            return False
        if not line.strip():
            self._blank_before = self._block_started
            return False
        is_list = bool(_LIST_ITEM.match(line))
        new_block = self._block_started and (
            self._closed_block
            or (
                self._blank_before
                and not line[:1].isspace()
                and not (is_list and self._block_is_list)
            )
        )
        if new_block or not self._block_started:
            self._block_started = True
            self._block_is_list = False
        # A list may follow a paragraph line directly; the block is a list from there.
        self._block_is_list = self._block_is_list or is_list
        self._blank_before = False
        self._closed_block = bool(_HEADING.match(line))
        self._fence = opening(line)
        if self._fence is not None:
            self._closed_block = False
        return new_block

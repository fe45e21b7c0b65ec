"""Fenced code blocks in Markdown: where one opens and which line closes it."""

from __future__ import annotations

import re
from dataclasses import dataclass

_OPENING = re.compile(r"(\s*)(`{3,}|~{3,})(.*)")


@dataclass(frozen=True)
class Fence:
    """An open fence: its character, how many, and how far it is indented."""

    char: str
    length: int
    indent: int

    def closed_by(self, line: str) -> bool:
        """Whether `line` ends this fence (same character, at least as many, nothing else)."""
        stripped = line.strip()
        if not stripped.startswith(self.char * self.length) or stripped.strip(self.char):
            return False
        # Indented 4 or more past the opening, a fence-like line is code.
        return len(line) - len(line.lstrip()) <= self.indent + 3


def opening(line: str) -> Fence | None:
    """The fence `line` opens, if it opens one."""
    match = _OPENING.match(line)
    # "```x```" at a line start is inline code: a backtick fence's info has no backtick.
    if not match or (match.group(2)[0] == "`" and "`" in match.group(3)):
        return None
    return Fence(match.group(2)[0], len(match.group(2)), len(match.group(1)))

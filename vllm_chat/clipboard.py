"""The clipboard over the terminal (OSC 52), and the code blocks of an answer."""

from __future__ import annotations

import base64
import re

_FENCE_OPEN = re.compile(r"^( *)(`{3,}|~{3,})([^`\n]*)$")


def osc52(text: str) -> str:
    """The escape sequence asking the terminal to put `text` on the clipboard."""
    return f"\x1b]52;c;{base64.b64encode(text.encode('utf-8')).decode('ascii')}\x07"


def code_blocks(markdown: str) -> list[str]:
    """The contents of the fenced code blocks in `markdown`, in order."""
    blocks: list[str] = []
    lines = markdown.split("\n")
    index = 0
    while index < len(lines):
        opening = _FENCE_OPEN.match(lines[index])
        index += 1
        if not opening:
            continue
        indent = len(opening.group(1))
        char, length = opening.group(2)[0], len(opening.group(2))
        body: list[str] = []
        while index < len(lines):
            line = lines[index]
            index += 1
            stripped = line.strip()
            if stripped.startswith(char * length) and not stripped.strip(char):
                break
            # The opening fence's indentation is not part of the code (CommonMark).
            body.append(line[min(indent, len(line) - len(line.lstrip(" "))) :])
        blocks.append("\n".join(body))
    return blocks

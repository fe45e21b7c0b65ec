"""The clipboard over the terminal (OSC 52), and the code blocks of an answer."""

from __future__ import annotations

import base64
import re

_FENCE_OPEN = re.compile(r"^( {0,3})(`{3,}|~{3,})([^`\n]*)$")


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
        char, length = opening.group(2)[0], len(opening.group(2))
        body: list[str] = []
        while index < len(lines):
            stripped = lines[index].strip()
            index += 1
            if stripped.startswith(char * length) and not stripped.strip(char):
                break
            body.append(lines[index - 1])
        blocks.append("\n".join(body))
    return blocks

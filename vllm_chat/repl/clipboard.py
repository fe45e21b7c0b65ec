"""The clipboard over the terminal (OSC 52), and the code blocks of an answer."""

from __future__ import annotations

import base64

from vllm_chat.render.fences import opening


def osc52(text: str) -> str:
    """The escape sequence asking the terminal to put `text` on the clipboard."""
    return f"\x1b]52;c;{base64.b64encode(text.encode('utf-8')).decode('ascii')}\x07"


def code_blocks(markdown: str) -> list[str]:
    """The contents of the fenced code blocks in `markdown`, in order."""
    blocks: list[str] = []
    lines = iter(markdown.split("\n"))
    for line in lines:
        fence = opening(line)
        if fence is None:
            continue
        body: list[str] = []
        for inner in lines:
            if fence.closed_by(inner):
                break
            # The opening fence's indentation is not part of the code (CommonMark).
            unindented = len(inner) - len(inner.lstrip(" "))
            body.append(inner[min(fence.indent, unindented) :])
        blocks.append("\n".join(body))
    return blocks

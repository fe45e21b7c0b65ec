"""Text that is safe on a terminal, and one-line status messages. The lowest floor.

Pure but for `status_line`, which writes one line to a stream. Imports only
`environment` (what the terminal is).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from typing import TextIO

from vllm_chat.render.environment import Environment

# Escape sequences a model could use to drive the terminal: CSI, OSC (title,
# clipboard `ESC ]52`, links `ESC ]8`), DCS/SOS/PM/APC strings and the short
# two-byte forms. Removed whole so that no part of them acts.
_ESCAPES = re.compile(
    r"""
    \x1b\[[0-?]*[ -/]*[@-~]?          # CSI
  | \x1b\][^\x07\x1b]*(?:\x07|\x1b\\)? # OSC, ended by BEL or ST
  | \x1b[PX^_][^\x1b]*(?:\x1b\\)?      # DCS, SOS, PM, APC
  | \x1b[ -/]*[0-~]?                   # other escapes (and a lone ESC)
    """,
    re.VERBOSE,
)
# Other C0 controls (tab and newline stay), DEL and the C1 range.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)  # Unicode "control pictures": ␇ for BEL, ␈ for BS...
    return "\u2421" if code == 0x7F else "\ufffd"


def sanitize(text: str) -> str:
    """Text safe to show on a terminal: escapes removed, other controls made visible."""
    if not _CONTROLS.search(text):  # the common case costs one C-level scan
        return text
    text = text.replace("\r\n", "\n")
    return _CONTROLS.sub(_visible, _ESCAPES.sub("", text))


class LineEnds:
    """CRLF and lone CR become LF, also when a delta ends between the two.

    A server's tokenizer may send `\r` and `\n` as separate tokens; each delta
    normalised alone would leave a `\r` for the screen to show as `␍`.
    """

    def __init__(self) -> None:
        self._held_cr = False

    def feed(self, text: str) -> str:
        if not self._held_cr and "\r" not in text:
            return text
        if self._held_cr:
            text, self._held_cr = "\r" + text, False
        if text.endswith("\r"):
            text, self._held_cr = text[:-1], True
        return text.replace("\r\n", "\n").replace("\r", "\n")

    def finish(self) -> str:
        """What is still held back at the end of the answer."""
        held, self._held_cr = self._held_cr, False
        return "\n" if held else ""

    def whole(self, text: str) -> str:
        return self.feed(text) + self.finish()


_STYLES = {"error": "1;31", "warn": "33", "info": "2", "plain": ""}


def styled(text: str, sgr: str, enabled: bool) -> str:
    """`text` in the SGR style `sgr` when `enabled` (a colour terminal), else as it is."""
    return f"\x1b[{sgr}m{text}\x1b[0m" if enabled and sgr else text


def status_line(
    text: str, *, kind: str = "info", stream: TextIO | None = None, env: Environment | None = None
) -> None:
    """One line about the session (error, warning, notice): never on a piped stdout.

    It goes to `stream`, by default `env`'s stderr, coloured if `env` says so.
    """
    env = env or Environment.detect()
    stream = stream or env.stderr
    prefix = {"error": "error: ", "warn": ""}.get(kind, "")
    line = sanitize(prefix + text)
    stream.write(styled(line, _STYLES.get(kind, ""), env.color(stream)) + "\n")
    stream.flush()


def unexpected(exc: BaseException) -> str:
    """One line for an error nobody foresaw (VLLM_CHAT_DEBUG=1 shows the traceback)."""
    if os.environ.get("VLLM_CHAT_DEBUG"):
        import traceback

        traceback.print_exception(exc)
    return (
        f"unexpected {type(exc).__name__}: {exc} (please report it; VLLM_CHAT_DEBUG=1 shows where)"
    )


def common_prefix(old: Sequence[object], new: Sequence[object]) -> int:
    """How many items `old` and `new` share from their start."""
    count = 0
    for before, after in zip(old, new, strict=False):
        if before != after:
            break
        count += 1
    return count

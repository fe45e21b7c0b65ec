"""The controlling terminal while an answer streams."""

from __future__ import annotations

import contextlib
import os
import select
from collections.abc import Iterator

from vllm_chat.render.environment import Environment

EOF_KEY = b"\x04"  # Ctrl-D

# Keys typed while an answer streamed, taken from the terminal when it ended; None
# until `hold_typeahead()`: then the prompt gets them, without Ctrl-D, from `take_typeahead()`.
_held: bytearray | None = None


def hold_typeahead() -> None:
    """From now on, keys typed while input is quiet are kept for `take_typeahead()`."""
    global _held
    if _held is None:
        _held = bytearray()


def take_typeahead() -> bytes:
    """The keys typed while input was quiet, in order, Ctrl-D left out; then forgets them."""
    if not _held:
        return b""
    keys = bytes(_held)
    _held.clear()
    return keys


def _drain(fd: int) -> bytes:
    """What waits in the terminal's input queue, read without blocking."""
    chunks = []
    with contextlib.suppress(OSError, ValueError):
        while select.select([fd], [], [], 0)[0]:
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


@contextlib.contextmanager
def quiet_input(env: Environment | None = None) -> Iterator[None]:
    """Keys typed while an answer streams neither echo into it nor lose their meaning.

    In the terminal's normal (cooked) mode a typed line would be echoed into the
    answer, Ctrl-C would echo `^C` (and wrap a full-width line, breaking the
    live region's redraw), and Enter would arrive as Ctrl-J, which the prompt
    reads as "new line" instead of "send". So echo, line editing and CR->LF
    translation are off until the answer ends; Ctrl-C still interrupts, and
    typed-ahead keys wait in the input queue for the next prompt. After
    `hold_typeahead()` they are taken from the queue when the answer ends, and
    Ctrl-D (which would quit at the next, empty, prompt) is dropped from them.
    Nothing changes when `env`'s stdin (by default this process's) is not a terminal.
    """
    env = env or Environment.detect()
    stream = env.stdin
    try:
        import termios

        if stream is None or not env.stdin_isatty:
            raise OSError
        fd = stream.fileno()
        saved = termios.tcgetattr(fd)
    except (ImportError, AttributeError, ValueError, OSError):
        yield
        return
    quiet = list(saved)
    quiet[0] &= ~termios.ICRNL  # iflag
    quiet[3] &= ~(termios.ECHO | termios.ECHOCTL | termios.ICANON)  # lflag
    quiet[3] |= termios.ISIG  # Ctrl-C interrupts, whatever mode the terminal was left in
    quiet[6] = list(saved[6])
    quiet[6][termios.VMIN], quiet[6][termios.VTIME] = 1, 0
    try:
        termios.tcsetattr(fd, termios.TCSANOW, quiet)
    except termios.error:
        yield
        return
    try:
        yield
    finally:
        if _held is not None:
            _held.extend(_drain(fd).replace(EOF_KEY, b""))
        # TCSANOW, not TCSAFLUSH: keys typed ahead must survive.
        with contextlib.suppress(termios.error):
            termios.tcsetattr(fd, termios.TCSANOW, saved)

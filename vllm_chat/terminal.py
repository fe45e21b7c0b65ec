"""The controlling terminal while an answer streams."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def quiet_input() -> Iterator[None]:
    """Keys typed while an answer streams neither echo into it nor lose their meaning.

    In the terminal's normal (cooked) mode a typed line would be echoed into the
    answer, Ctrl-C would echo `^C` (and wrap a full-width line, breaking the
    live region's redraw), and Enter would arrive as Ctrl-J, which the prompt
    reads as "new line" instead of "send". So echo, line editing and CR->LF
    translation are off until the answer ends; Ctrl-C still interrupts, and
    typed-ahead keys wait in the input queue for the next prompt.
    """
    stream = sys.stdin
    try:
        import termios

        fd = stream.fileno()
        if not stream.isatty():
            raise OSError
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
        # TCSANOW, not TCSAFLUSH: keys typed ahead must survive.
        with contextlib.suppress(termios.error):
            termios.tcsetattr(fd, termios.TCSANOW, saved)

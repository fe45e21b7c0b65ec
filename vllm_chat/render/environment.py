"""What the terminal is, decided once at start-up and passed down (after httpie's `Environment`).

The one module that asks the operating system about the terminal: whether the
standard streams are terminals, `NO_COLOR`, `TERM=dumb`, whether the cursor
position may be asked for, the width to render at. The others ask an
`Environment`; tests build one explicitly. Standard library only: `-q` into a
pipe and `--help` load it too.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import IO, Any, TextIO


def _isatty(stream: IO[Any] | None) -> bool:
    """Whether `stream` is a terminal; False for a missing, closed or odd stream."""
    try:
        return stream is not None and not stream.closed and stream.isatty()
    except (AttributeError, OSError, ValueError):
        return False


@dataclass(frozen=True)
class Environment:
    """The standard streams and the facts about them that decide what is shown."""

    stdin: TextIO | None = field(default_factory=lambda: sys.stdin)
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    stdin_isatty: bool = False
    stdout_isatty: bool = False
    stderr_isatty: bool = False
    no_color: bool = False  # NO_COLOR is set (and not empty): no colour anywhere
    dumb: bool = False  # TERM=dumb: no colour, no Markdown, no cursor movement
    cpr: bool = True  # the terminal may be asked where its cursor is (PROMPT_TOOLKIT_NO_CPR)
    width: int | None = None  # columns to render at; None: the terminal's, at each redraw

    @classmethod
    def detect(
        cls,
        *,
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
        stderr: TextIO | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Environment:
        """The environment of this process (or of the streams and variables given)."""
        environ = os.environ if environ is None else environ
        stdin = sys.stdin if stdin is None else stdin
        stdout = sys.stdout if stdout is None else stdout
        stderr = sys.stderr if stderr is None else stderr
        dumb = environ.get("TERM") == "dumb"
        return cls(
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
            stdin_isatty=_isatty(stdin),
            stdout_isatty=_isatty(stdout),
            stderr_isatty=_isatty(stderr),
            # no-color.org: set and not empty (as rich reads it too).
            no_color=bool(environ.get("NO_COLOR")),
            dumb=dumb,
            cpr=not dumb and environ.get("PROMPT_TOOLKIT_NO_CPR") != "1",
        )

    @property
    def markdown(self) -> bool:
        """Whether answers are rendered as Markdown: stdout is a terminal that can draw."""
        return self.stdout_isatty and not self.dumb

    def isatty(self, stream: IO[Any] | None) -> bool:
        """Whether `stream` is a terminal: decided for the standard streams, else asked."""
        if stream is None:
            return False
        for known, answer in (
            (self.stdout, self.stdout_isatty),
            (self.stderr, self.stderr_isatty),
            (self.stdin, self.stdin_isatty),
        ):
            if stream is known:
                return answer
        return _isatty(stream)

    def color(self, stream: IO[Any] | None) -> bool:
        """Whether text written to `stream` may be coloured."""
        return not self.no_color and not self.dumb and self.isatty(stream)

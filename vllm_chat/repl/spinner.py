"""A spinner with the elapsed time, shown while the first token is awaited."""

from __future__ import annotations

import threading
import time
from typing import TextIO

FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


class Spinner:
    """Draws `⠋ 1.4 s` on the current line of a terminal until `stop()`.

    It appears only after `delay` (a fast server never shows it) and `stop()`
    erases it and waits for the drawing thread, so nothing is left on the line
    and nothing races the answer's first characters. `out` must be a terminal
    (the caller asks its `Environment`).
    """

    def __init__(self, out: TextIO, *, delay: float = 0.15, interval: float = 0.1) -> None:
        self._out = out
        self._delay = delay
        self._interval = interval
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self._drawn = False

    def start(self) -> Spinner:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is None:
            return
        self._stopped.set()
        self._thread.join()
        self._thread = None
        if self._drawn:
            self._out.write("\r\x1b[K")
            self._out.flush()

    def _run(self) -> None:
        started = time.monotonic()
        if self._stopped.wait(self._delay):
            return
        frame = 0
        while not self._stopped.is_set():
            elapsed = time.monotonic() - started
            self._out.write(f"\r\x1b[2m{FRAMES[frame % len(FRAMES)]} {elapsed:.1f} s\x1b[0m")
            self._out.flush()
            self._drawn = True
            frame += 1
            self._stopped.wait(self._interval)

    def __enter__(self) -> Spinner:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

"""An action that runs at a deadline unless it is called off first: one thread for many."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Later:
    """Runs `action` once the deadline last set has passed, unless cancelled before.

    A renderer holds back an update between two redraws and must draw it if the server
    then pauses. A `threading.Timer` for each would start a thread 12 times a second,
    with the context switches that go with it. This thread sleeps until the deadline it
    knows: a deadline set for later, or cancelled, is found when it wakes, so setting
    one costs nothing; only an earlier one wakes it.
    """

    def __init__(self, action: Callable[[], None]) -> None:
        self._action = action
        self._lock = threading.Condition()
        self._deadline: float | None = None
        self._waking: float | None = None  # when the thread wakes next (None: when told)
        self._generation = 0  # a closed thread's number is past
        self._running = False

    def at(self, deadline: float) -> None:
        """Run the action at `deadline` (`time.monotonic`), unless cancelled first."""
        with self._lock:
            self._deadline = deadline
            if not self._running:
                self._running = True
                thread = threading.Thread(
                    target=self._run, args=(self._generation,), name="vllm-chat-later", daemon=True
                )
                thread.start()
            elif self._waking is None or deadline < self._waking:
                self._lock.notify()

    def cancel(self) -> None:
        with self._lock:
            self._deadline = None

    def close(self) -> None:
        """Cancel, and end the thread (a later `at` starts another)."""
        with self._lock:
            self._deadline = None
            self._generation += 1
            self._running = False
            self._lock.notify()

    def _run(self, generation: int) -> None:
        with self._lock:
            while generation == self._generation:
                deadline = self._deadline
                wait = None if deadline is None else deadline - time.monotonic()
                if wait is None or wait > 0:
                    self._waking = None if wait is None else deadline
                    self._lock.wait(wait)
                    continue
                self._deadline = None
                self._lock.release()
                try:
                    self._action()
                finally:
                    self._lock.acquire()

"""How long the thread that reads an answer may sleep between two redraws. No I/O."""

from __future__ import annotations

import time
from collections.abc import Callable


class ReadPace:
    """How long the reader may sleep after a redraw, so that it reads in batches.

    Nothing read between two redraws is shown before the next one, yet a reader
    woken for every delta (1,000 a second) spends most of its CPU on waking up.
    After a redraw the thread that feeds the renderer sleeps for a share of the
    interval: the socket gathers the deltas meanwhile, read then in one go. The
    share is what the reader can spare, from the CPU the last cycle took: 1 - 2x
    that share of the cycle, at most 95 %. A reader that cannot keep up (a fast
    server) never rests; one that falls behind while resting works more of the
    next cycle, which cuts its rest (95 % -> 90 -> 80 -> 60 -> 20 -> none).

    No rest for the first `warm_up` seconds of an answer: a delta read after a rest is
    timed late by up to the rest, and the rate `--stats` shows is measured to the last
    delta. Kept rest-free, a short answer's rate is exact, and a longer one's is off by
    at most one rest over its whole length; the waking up that the rests save matters
    only in long answers.
    """

    def __init__(
        self,
        interval: float,
        cpu: Callable[[], float] = time.process_time,
        sleep: Callable[[float], None] = time.sleep,
        warm_up: float = 0.0,
    ) -> None:
        self._interval = interval
        self._warm_up = warm_up
        self._first: float | None = None  # the first redraw
        self._cpu_clock, self._sleep = cpu, sleep
        self._share = 0.0  # of the interval, slept after each redraw
        self._cycle_start = float("-inf")
        self._cpu = 0.0
        self._until = float("-inf")

    def plan(self, now: float) -> None:
        """At a redraw: judge the cycle that ends, and set the rest after it."""
        cpu = self._cpu_clock()
        if self._first is None:
            self._first = now
        if now - self._first < self._warm_up:
            self._cycle_start, self._cpu = now, cpu
            return
        cycle = now - self._cycle_start
        if cycle < 10 * self._interval:  # not the first draw, nor after a long pause
            self._share = min(0.95, max(0.0, 1 - 2 * (cpu - self._cpu) / cycle))
        self._cycle_start, self._cpu = now, cpu
        self._until = now + self._share * self._interval

    @property
    def share(self) -> float:
        return self._share

    def take(self, now: float) -> None:
        """Sleep if the rest planned at the last redraw is not over (no lock held)."""
        wait = self._until - now
        if wait > 0:
            self._until = float("-inf")
            self._sleep(wait)

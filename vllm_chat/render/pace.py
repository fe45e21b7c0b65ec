"""When the thread that reads an answer sleeps, and when what it read is drawn. No I/O."""

from __future__ import annotations

import time
from collections.abc import Callable

# Time off the CPU between two deltas beyond this is a wait for the server; a fast
# server (5,000 tokens/s) sends a delta every 200 us.
WAITED = 50e-6
SHORTEST_REST = 0.001  # shorter sleeps cost more than the wake-ups they save
# A rest lasts at most the time the server takes to send this many deltas, at its rate so
# far: the socket's buffer (128 KB by default) must take what comes meanwhile, or a fast
# server waits for the reader (vLLM's events are 200-400 bytes; with logprobs, more).
REST_DELTAS = 128


class ReadPace:
    """Batches an answer's deltas: the reader sleeps once it has caught up with the server.

    Nothing read between two redraws shows before the next one, yet a reader woken
    for every delta (1,000 a second) spends most of its CPU on waking up. So:
    - the reader rests only when it has caught up: the delta it just read came after
      a wait for data (more than `WAITED` off the CPU since it was done with the one
      before: the work between two deltas does not count, however slow the machine).
      It sleeps until the next redraw is due (one interval at most), while the socket
      gathers the deltas, read then in one go. A reader that has fallen behind never
      waits, so never rests.
    - a redraw that is due waits until the reader has caught up again, so that it
      shows the whole batch and not its first delta; a reader that never catches up
      (a server faster than it) still draws, an interval late at most.
    - a delta read after a rest is timed late, by up to the rest: `TurnStats` measures
      the rate to the last delta that came after a wait, whose time is right (so rests
      need not be short for `--stats`, early in an answer or at its end).
    - a rest is at most the time the server takes to send `REST_DELTAS` deltas at its
      rate so far: what it sends meanwhile waits in the socket's buffer, which must not
      fill (the server would wait for the reader).
    """

    def __init__(
        self,
        interval: float,
        clock: Callable[[], float] = time.monotonic,
        cpu: Callable[[], float] = time.thread_time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._interval = interval
        self._clock, self._cpu, self._sleep = clock, cpu, sleep
        self._first: float | None = None  # the first delta
        self._count = 0  # deltas since
        self._last = (float("-inf"), 0.0)  # the last delta's arrival: wall and CPU clocks
        self._slept = 0.0  # rested since then
        self._waited = True  # the last delta came after a wait for the server

    def arrived(self, now: float) -> None:
        """A delta has been read at `now` (by the thread that calls `rest`)."""
        if self._first is None:
            self._first = now
        self._count += 1
        # Off the CPU since the last arrival, but for the rest: waiting for the server
        # (one CPU clock reading a delta, a system call: they are 12,700 in a long answer).
        then, cpu_then = self._last
        cpu = self._cpu()
        self._waited = (now - then) - (cpu - cpu_then) - self._slept > WAITED
        self._last, self._slept = (now, cpu), 0.0

    @property
    def waited(self) -> bool:
        """The last delta came after a wait for the server: read as it arrived."""
        return self._waited

    def ready(self, now: float, due: float) -> bool:
        """Whether to redraw now, the next redraw being due at `due`."""
        return now >= due and (self._waited or now >= due + self._interval)

    def rest(self, due: float) -> None:
        """The delta is handled: sleep until `due` if the reader had caught up (no lock held)."""
        if not self._waited or self._first is None:
            return
        now = self._clock()
        # Never longer than the interval asked for: the answer's end may come meanwhile.
        wait = min(due - now, self._interval)
        wait = min(wait, REST_DELTAS * (now - self._first) / self._count)  # the server's pace
        if wait >= SHORTEST_REST:
            self._sleep(wait)
            self._slept += self._clock() - now


# The live view's redraws take at most this share of a core, however costly the tail...
REDRAW_SHARE = 0.015
SLOWEST_REDRAWS = 0.25  # ... yet come every 0.25 s at least


class RedrawBudget:
    """How often the live tail is redrawn: as asked, unless that costs too much.

    Each redraw draws the unfinished block again. A paragraph's costs about a
    millisecond, a growing table's or code block's 2-3 ms (parsed, laid out, each new
    line highlighted): redrawn 12 times a second, that would be 3 % of a core on lines
    the user already saw. So the interval grows with the redraw's cost (averaged over
    the last few), to keep redraws within `REDRAW_SHARE` of a core; never beyond
    `SLOWEST_REDRAWS`. A redraw costs that much when many lines came since the last
    one: measured in a pty, tables and code redraw 6-8 times a second at 1,000
    tokens/s, 10-12 times at 100 tokens/s, and paragraphs 12 times at both.
    """

    def __init__(self, interval: float) -> None:
        self._least = interval
        self._cost: float | None = None

    def interval(self, cost: float) -> float:
        """The interval until the next redraw, after one that took `cost` seconds of CPU."""
        self._cost = cost if self._cost is None else (self._cost + cost) / 2
        wanted = self._cost / REDRAW_SHARE
        return max(self._least, min(wanted, SLOWEST_REDRAWS))

"""`ReadPace`: how long the reader of a stream rests after a redraw (issue 17).

A fake CPU clock and a recording `sleep`: no test waits or measures time.
"""

from __future__ import annotations

import pytest

from vllm_chat.render.pace import ReadPace

INTERVAL = 0.1


class Reader:
    """A reader whose CPU use per cycle the test sets."""

    def __init__(self) -> None:
        self.cpu = 0.0
        self.slept: list[float] = []
        self.pace = ReadPace(INTERVAL, cpu=lambda: self.cpu, sleep=self.slept.append)

    def cycle(self, start: float, used: float) -> None:
        """A redraw at `start`, after a cycle in which the reader used `used` seconds."""
        self.cpu += used
        self.pace.plan(start)


def test_a_reader_that_mostly_waits_rests_most_of_the_interval() -> None:
    reader = Reader()
    reader.cycle(0.0, 0.0)  # the first draw: nothing to judge yet
    assert reader.pace.share == 0.0
    reader.cycle(INTERVAL, 0.005)  # 5 % of the cycle
    assert reader.pace.share == pytest.approx(0.9)
    reader.pace.take(INTERVAL + 0.01)
    assert reader.slept == [pytest.approx(0.9 * INTERVAL - 0.01)]
    reader.pace.take(INTERVAL + 0.02)  # once per redraw
    assert len(reader.slept) == 1


def test_a_reader_kept_busy_never_rests() -> None:
    reader = Reader()
    reader.cycle(0.0, 0.0)
    for number in range(1, 6):
        reader.cycle(number * INTERVAL, INTERVAL)  # all of the cycle
        assert reader.pace.share == 0.0
        reader.pace.take(number * INTERVAL)
    assert reader.slept == []


def test_a_reader_that_falls_behind_while_resting_soon_stops() -> None:
    """Resting 90 % and then working all of the 10 % left: the rest shrinks to none."""
    reader = Reader()
    reader.cycle(0.0, 0.0)
    reader.cycle(INTERVAL, 0.0)
    shares = [reader.pace.share]
    for number in range(2, 8):
        reader.cycle(number * INTERVAL, (1 - reader.pace.share) * INTERVAL)
        shares.append(reader.pace.share)
    assert shares[0] == pytest.approx(0.95)
    assert shares[-1] == 0.0
    assert shares == sorted(shares, reverse=True)


def test_after_a_long_pause_the_share_is_kept() -> None:
    reader = Reader()
    reader.cycle(0.0, 0.0)
    reader.cycle(INTERVAL, 0.005)
    reader.cycle(100 * INTERVAL, 5.0)  # the server paused: no cycle to judge
    assert reader.pace.share == pytest.approx(0.9)


def test_no_rest_while_the_answer_warms_up() -> None:
    reader = Reader()
    reader.pace = ReadPace(INTERVAL, cpu=lambda: reader.cpu, sleep=reader.slept.append,
                           warm_up=1.0)  # fmt: skip
    for cycle in range(10):  # the first second: the reader reads every delta as it comes
        reader.cycle(cycle * INTERVAL, 0.001)
        reader.pace.take(cycle * INTERVAL + 0.01)
    assert reader.slept == []
    reader.cycle(10 * INTERVAL, 0.001)  # then it rests, judged on the cycle that ended
    assert reader.pace.share == pytest.approx(0.95)
    reader.pace.take(10 * INTERVAL + 0.01)
    assert reader.slept == [pytest.approx(0.95 * INTERVAL - 0.01)]

"""`ReadPace`: when the reader of a stream sleeps, and when what it read is drawn (issue 17).

A fake wall clock, a fake CPU clock and a recording `sleep`: no test waits or measures time.
"""

from __future__ import annotations

import pytest

from vllm_chat.render.pace import REST_DELTAS, ReadPace, RedrawBudget

INTERVAL = 0.1


class Reader:
    """A reader of deltas on fake clocks: the test says how each delta came."""

    def __init__(self, into_answer: float = 10.0) -> None:
        """The answer's first delta came `into_answer` seconds ago; the reader is idle."""
        self.now = 0.0  # wall clock
        self.cpu = 0.0  # the reader thread's CPU clock
        self.slept: list[float] = []
        self.pace = ReadPace(
            INTERVAL, clock=lambda: self.now, cpu=lambda: self.cpu, sleep=self._sleep
        )
        self.delta(due=float("-inf"))
        self.now = into_answer
        self.pace.arrived(self.now)  # and another just now

    def _sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def delta(self, *, waited: float = 0.0, work: float = 20e-6, due: float) -> bool:
        """A delta read after `waited` seconds off the CPU and `work` on it; drawn or not."""
        self.now += waited + work
        self.cpu += work
        self.pace.arrived(self.now)
        drawn = self.pace.ready(self.now, due)
        self.pace.rest(due)
        return drawn


def test_a_reader_that_caught_up_sleeps_until_the_next_redraw() -> None:
    reader = Reader(into_answer=10.0)  # the rate --stats shows is not at stake
    reader.delta(waited=0.001, due=10.05)
    assert reader.slept == [pytest.approx(0.05 - 0.001 - 20e-6)]
    assert reader.now == pytest.approx(10.05)


def test_a_reader_behind_the_server_never_sleeps_however_slow_its_work() -> None:
    """A slow machine: 5 ms of CPU between two deltas, never a wait for data."""
    reader = Reader(into_answer=10.0)
    for _ in range(50):
        reader.delta(work=0.005, due=10.2)
    assert reader.slept == []


def test_the_batch_read_after_a_rest_is_drawn_once_the_reader_caught_up() -> None:
    reader = Reader(into_answer=10.0)
    reader.delta(waited=0.001, due=10.05)  # sleeps until 10.05: the redraw is due
    drawn = [reader.delta(due=10.05) for _ in range(40)]  # what the socket gathered
    assert drawn == [False] * 40
    assert reader.delta(waited=0.001, due=10.05)  # the next one came after a wait: draw


def test_a_reader_that_never_catches_up_still_draws_an_interval_late() -> None:
    reader = Reader(into_answer=10.0)
    due = reader.now + 0.01
    drawn = []
    while not drawn or not drawn[-1]:
        drawn.append(reader.delta(work=0.001, due=due))
    assert reader.now == pytest.approx(due + INTERVAL, abs=0.001)


def test_early_in_an_answer_a_rest_lasts_until_the_redraw_too() -> None:
    """The rate --stats shows is measured to a delta read as it arrived (TurnStats), so a
    rest need not be short when the answer has just begun."""
    reader = Reader(into_answer=0.2)
    reader.delta(waited=0.001, due=0.28)
    assert reader.slept == [pytest.approx(0.08 - 0.001 - 20e-6)]
    assert reader.pace.waited  # that delta came after a wait: timed as it arrived


def test_the_batch_read_after_a_rest_was_not_waited_for() -> None:
    reader = Reader(into_answer=10.0)
    reader.delta(waited=0.001, due=10.05)  # rests until 10.05
    reader.delta(due=10.05)  # in the socket since some time during the rest
    assert not reader.pace.waited


def test_no_rest_shorter_than_a_millisecond() -> None:
    reader = Reader(into_answer=10.0)
    reader.delta(waited=0.001, due=10.0015)  # the redraw is due sooner than that
    assert reader.slept == []


def test_cheap_redraws_come_as_often_as_asked() -> None:
    budget = RedrawBudget(1 / 12)
    assert [budget.interval(0.0005) for _ in range(3)] == [pytest.approx(1 / 12)] * 3


def test_costly_redraws_come_less_often_within_a_share_of_a_core() -> None:
    """A growing table at 2.25 ms a redraw: every 150 ms, 1.5 % of a core, not 2.7 %."""
    budget = RedrawBudget(1 / 12)
    intervals = [budget.interval(0.00225) for _ in range(3)]
    assert intervals == [pytest.approx(0.15)] * 3
    assert budget.interval(0.00075) == pytest.approx((0.00225 + 0.00075) / 2 / 0.015)  # averaged


def test_however_costly_a_redraw_comes_four_times_a_second() -> None:
    budget = RedrawBudget(1 / 12)
    assert budget.interval(0.5) == pytest.approx(0.25)


def test_a_rest_lasts_one_interval_at_most_when_redraws_come_less_often() -> None:
    """Redraws slowed by their cost: the answer's end must not wait for the next one."""
    reader = Reader(into_answer=60.0)
    reader.delta(waited=0.001, due=60.25)
    assert reader.slept == [pytest.approx(INTERVAL)]


def test_a_rest_lasts_no_longer_than_a_fast_server_takes_to_send_a_socket_s_worth() -> None:
    """A server sending 100,000 deltas a second: a rest of a whole interval would hold it
    up once the socket's buffer is full; a rest lasts the time of REST_DELTAS deltas."""
    reader = Reader(into_answer=0.0)
    for _ in range(20_000):  # 0.2 s, the reader never waiting
        reader.delta(work=10e-6, due=1.0)
    assert reader.slept == []
    reader.delta(waited=0.001, due=1.0)  # it caught up: it rests, but not until 1.0
    per_delta = reader.now / 20_002
    assert reader.slept == [pytest.approx(REST_DELTAS * per_delta, rel=0.05)]

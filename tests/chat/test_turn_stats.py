"""TurnStats' figures from explicit timestamps: what `--stats` and the toolbar claim."""

from __future__ import annotations

import pytest

from vllm_chat.chat.turn import TurnStats
from vllm_chat.client.events import Usage


def stats_with(arrivals: list[float], completion: int | None = None, ended: float = 3.0):
    """A turn started at 0.0 whose deltas arrived at `arrivals` and that ended at `ended`."""
    stats = TurnStats(started=0.0)
    for at in arrivals:
        stats.note_delta(at)
    stats.ended = ended
    if completion is not None:
        stats.usage = Usage(25, completion, 25 + completion)
    return stats


def test_a_steady_stream_gives_its_decode_rate() -> None:
    # 131 tokens, one delta every 20 ms from 0.312 s on: 130 tokens in 2.6 s.
    arrivals = [0.312 + 0.02 * i for i in range(131)]
    stats = stats_with(arrivals, completion=131, ended=2.93)
    assert stats.ttft_ms == pytest.approx(312)
    assert stats.tokens_per_second == pytest.approx(50.0)
    assert stats.line() == "TTFT 312 ms · 50.0 tokens/s · 2.9 s · 25 prompt + 131 completion tokens"


def test_deltas_bunched_in_one_read_claim_no_rate() -> None:
    # Everything in one network read: a 1 ms window once printed as 33130.1 tokens/s.
    arrivals = [0.5 + 0.00001 * i for i in range(40)]
    stats = stats_with(arrivals, completion=40, ended=0.6)
    assert stats.tokens_per_second is None
    assert stats.line() == "TTFT 500 ms · 0.60 s · 25 prompt + 40 completion tokens"


def test_a_window_too_short_claims_no_rate() -> None:
    # Separate reads, but all within 10 ms: too short to mean anything.
    stats = stats_with([0.1 + 0.001 * i for i in range(11)], completion=11, ended=0.2)
    assert stats.arrivals == 11
    assert stats.tokens_per_second is None


def test_a_fast_server_in_separate_reads_gets_its_rate() -> None:
    # vLLM's CPU build with a tiny model: 30 tokens 2.3 ms apart, each in its own read.
    stats = stats_with([0.06 + 0.0023 * i for i in range(30)], completion=30, ended=0.13)
    assert stats.tokens_per_second == pytest.approx(29 / (0.0023 * 29))


def test_a_long_window_in_too_few_reads_claims_no_rate() -> None:
    # Two bunches 0.5 s apart: a long window, but only two arrivals.
    arrivals = [0.1 + 0.00001 * i for i in range(20)] + [0.6 + 0.00001 * i for i in range(20)]
    stats = stats_with(arrivals, completion=40, ended=0.7)
    assert stats.arrivals == 2
    assert stats.tokens_per_second is None


def test_a_few_bunched_reads_over_a_real_window_are_measured_from_first_to_last() -> None:
    # Five reads of 10 deltas, 100 ms apart: 49 tokens after the first over 0.4 s.
    arrivals = [0.2 + 0.1 * read + 0.00001 * i for read in range(5) for i in range(10)]
    stats = stats_with(arrivals, completion=50, ended=0.7)
    assert stats.arrivals == 5
    assert stats.tokens_per_second == pytest.approx(49 / (arrivals[-1] - arrivals[0]))


def test_the_rate_ends_at_the_last_delta_not_at_the_end_of_the_stream() -> None:
    # Usage and [DONE] came a second after the last delta: no part of decoding.
    arrivals = [0.1 + 0.1 * i for i in range(11)]  # 0.1 ... 1.1 s
    stats = stats_with(arrivals, completion=11, ended=2.1)
    assert stats.tokens_per_second == pytest.approx(10.0)
    assert stats.total_seconds == pytest.approx(2.1)


def test_the_rate_ends_at_the_last_delta_read_as_it_arrived() -> None:
    """A terminal's reader rests until the next redraw; the deltas it then finds in the
    socket came at some time during the rest: the rate ends before them."""
    stats = TurnStats(started=0.0)
    for i in range(101):  # 0.1 ... 1.1 s, each read after a wait: 100 tokens/s
        stats.note_delta(0.1 + 0.01 * i)
        stats.note_read(True)
    for _ in range(8):  # the reader rested 80 ms: these 8 arrived meanwhile
        stats.note_delta(1.19)
        stats.note_read(False)
    stats.usage = Usage(25, 109, 134)
    assert stats.tokens_per_second == pytest.approx(100.0)


def test_a_reader_that_never_caught_up_is_measured_to_the_last_delta() -> None:
    stats = TurnStats(started=0.0)
    for i in range(11):  # only the first was read after a wait
        stats.note_delta(0.1 + 0.1 * i)
        stats.note_read(i == 0)
    assert stats.tokens_per_second == pytest.approx(10.0)


def test_a_read_of_unknown_wait_counts_as_timed() -> None:
    stats = TurnStats(started=0.0)
    for i in range(11):
        stats.note_delta(0.1 + 0.1 * i)
        stats.note_read(None)  # a renderer that does not pace its reader
    assert stats.tokens_per_second == pytest.approx(10.0)


def test_without_usage_the_deltas_are_counted_and_marked() -> None:
    stats = stats_with([0.1 + 0.1 * i for i in range(11)], completion=None, ended=1.2)
    expected = "TTFT 100 ms · ~10.0 tokens/s · 1.2 s · ~11 tokens (the server sent no usage)"
    assert stats.line() == expected


@pytest.mark.parametrize("arrivals", [[], [0.4]], ids=["no-delta", "one-delta"])
def test_no_rate_from_fewer_than_two_tokens(arrivals: list[float]) -> None:
    stats = stats_with(arrivals, completion=len(arrivals), ended=1.0)
    assert stats.tokens_per_second is None

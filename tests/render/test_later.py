"""`Later`: a held-back redraw happens if nothing draws first, on one thread (issue 17)."""

from __future__ import annotations

import threading
import time

from vllm_chat.render.later import Later


def later_threads() -> set[threading.Thread]:
    return {thread for thread in threading.enumerate() if thread.name == "vllm-chat-later"}


def test_the_action_runs_once_its_deadline_passed() -> None:
    ran = threading.Event()
    later = Later(ran.set)
    later.at(time.monotonic() + 0.02)
    assert ran.wait(5)
    later.close()


def test_a_cancelled_deadline_does_not_run_and_the_next_one_does() -> None:
    calls: list[str] = []
    done = threading.Event()
    later = Later(lambda: (calls.append("ran"), done.set()))
    later.at(time.monotonic() + 0.05)
    later.cancel()  # a redraw came first
    later.at(time.monotonic() + 0.15)
    assert done.wait(5)
    assert calls == ["ran"]
    later.close()


def test_an_earlier_deadline_wakes_the_thread() -> None:
    ran = threading.Event()
    later = Later(ran.set)
    later.at(time.monotonic() + 3600)
    later.at(time.monotonic() + 0.01)
    assert ran.wait(5)
    later.close()


def test_many_deadlines_use_one_thread_and_close_ends_it() -> None:
    before = later_threads()
    later = Later(lambda: None)
    for _ in range(50):  # a redraw interval's work: held back, then drawn
        later.at(time.monotonic() + 1)
        later.cancel()
    (mine,) = later_threads() - before  # other tests' renderers may still be ending theirs
    later.close()
    mine.join(5)
    assert not mine.is_alive()

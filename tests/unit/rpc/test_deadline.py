"""Calls made while answering a call take what its deadline leaves (gateway.rpc.deadline)."""

from __future__ import annotations

import threading

from gateway.rpc.deadline import answering_within, call_timeout, remaining_seconds

# The bounds below leave hundreds of seconds of room: they hold however slowly the test runs.
LONG = 600.0


def test_outside_an_answer_a_call_keeps_its_own_default() -> None:
    assert remaining_seconds() is None
    assert call_timeout(5.0) == 5.0
    with answering_within(None):
        assert call_timeout(5.0) == 5.0


def test_inside_an_answer_a_call_gets_the_time_left_less_a_margin_not_its_default() -> None:
    with answering_within(LONG):
        timeout = call_timeout(5.0)
        # Longer than the 5 s default (the bug), shorter than the 120 s vector default would be
        # for a 60 s round, and at most the time left less the margin (1 s here).
        assert 5.0 < timeout <= LONG - 1.0
        assert call_timeout(120.0) <= LONG - 1.0
    assert call_timeout(5.0) == 5.0


def test_a_nested_answer_only_ever_shortens_the_deadline() -> None:
    with answering_within(10.0):
        with answering_within(LONG):
            assert call_timeout(5.0) <= 10.0
        with answering_within(2.0):
            assert call_timeout(5.0) <= 2.0
        assert call_timeout(5.0) <= 10.0


def test_a_spent_deadline_gives_no_time_rather_than_the_default() -> None:
    with answering_within(-3.0):
        assert call_timeout(5.0) == 0.0


def test_the_deadline_belongs_to_the_thread_answering() -> None:
    seen: list[float] = []
    with answering_within(1.0):
        thread = threading.Thread(target=lambda: seen.append(call_timeout(5.0)))
        thread.start()
        thread.join()
    assert seen == [5.0]

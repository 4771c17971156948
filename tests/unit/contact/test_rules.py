"""Quiet hours and day openings from policies/contact_rules.toml, at the boundaries, in local time."""

from __future__ import annotations

import datetime as dt

import pytest

from gateway.clock import LOCAL_ZONE, local_date, system_clock
from gateway.config import default_policies_dir
from gateway.policy.contact_rules import ContactRules

RULES = ContactRules.from_directory(default_policies_dir())


def local(day: dt.date, hour: int, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute, second), tzinfo=LOCAL_ZONE).astimezone(dt.UTC)


@pytest.mark.parametrize(
    ("time", "quiet"),
    [((7, 59, 59), True), ((8, 0, 0), False), ((21, 59, 59), False), ((22, 0, 0), True), ((0, 0, 0), True)],
)
def test_quiet_hours_at_their_boundaries(time: tuple[int, int, int], quiet: bool) -> None:
    day = local_date(system_clock())

    assert RULES.quiet_at(local(day, *time)) is quiet


def test_quiet_hours_end_and_start_are_the_next_local_8_and_22() -> None:
    day = local_date(system_clock())
    late = local(day, 22, 30)

    assert RULES.quiet_ends_after(late) == local(day + dt.timedelta(days=1), 8)
    assert RULES.quiet_ends_after(local(day, 7, 59, 59)) == local(day, 8)
    assert RULES.quiet_starts_after(local(day, 21, 59, 59)) == local(day, 22)
    assert RULES.quiet_starts_after(local(day, 22)) == local(day + dt.timedelta(days=1), 22)
    assert RULES.next_day_opening(local(day, 10)) == local(day + dt.timedelta(days=1), 8)


def test_the_figures_come_from_the_policy_file() -> None:
    assert (RULES.quiet_hours_start, RULES.quiet_hours_end) == (22, 8)
    assert RULES.connected_calls_per_debtor_per_day == 3
    assert RULES.unanswered_attempts_per_number_per_day == 6
    assert RULES.visit_min_collectors == 2

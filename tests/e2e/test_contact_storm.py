"""The contact storm in CI size: 5 agencies racing over 300 debtors' slots with real processes and
a bureau crash in the middle, then a burst across 22:00 (``contact_storm.py``; the 1,000-debtor
storm runs in ``bench/contact.py``).

Mutations shown red (each run once at this size): the desk counting connected calls only, not
open slots (124 debtors over the cap); grants not cut at the quiet-hours start (176 grants
running into 22:00, 4 calls made in the quiet hours).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .contact_storm import StormSize, run_storm

pytestmark = [pytest.mark.processes, pytest.mark.slow]

CI_SIZE = StormSize(agencies=5, debtors=300, attempts=1, threads=4, evening_debtors=50)


def test_agencies_cannot_jointly_exceed_a_cap_however_they_race(tmp_path: Path) -> None:
    result = run_storm(tmp_path, CI_SIZE)
    print(result)  # the storm's figures, for the log

    day = result.daytime
    assert day.clears == CI_SIZE.agencies * CI_SIZE.debtors and result.errors == 0
    assert result.clears_before_restart > 0 and result.clears_after_restart > 0
    assert day.refusals["connected_cap"] > 0  # the agencies did race for the last slots
    assert result.evening.refusals["quiet_hours"] > 0  # the burst ran into the quiet hours
    assert result.connected_over_cap == 0
    assert result.unanswered_over_cap == 0
    assert result.quiet_grants == 0 and result.quiet_calls == 0
    assert result.lost_reservations == 0 and result.phantom_reservations == 0
    assert result.unsettled_reservations == 0 and result.double_counted == 0
    assert result.refusals_without_reason == 0 and result.answers_not_as_stored == 0

from __future__ import annotations

import datetime as dt
from pathlib import Path

from gateway.reports.budget import BudgetPolicy, ReleaseCache
from gateway.reports.release import (
    HistogramRelease,
    MarginRelease,
    Release,
    ReleaseCell,
    ReleaseKey,
    Treatment,
)

NOW = dt.datetime(2026, 11, 3, 9, 0, tzinfo=dt.UTC)


def _key(template_id: str = "monthly-risk", regulator: str = "cbirc") -> ReleaseKey:
    return ReleaseKey(template_id, "2026-10", regulator)


def test_budget_file_is_valid(budget_policy: BudgetPolicy) -> None:
    assert budget_policy.accounting == "zCDP"
    assert budget_policy.rho_per_regulator_period == 0.05
    assert budget_policy.rho_per_member_period >= budget_policy.rho_per_regulator_period


def _release(count: int) -> Release:
    cell = ReleaseCell(("bank",), count, Treatment.NOISED, (), 3.5)
    total = MarginRelease((), (ReleaseCell((), count, Treatment.NOISED, (), 3.5),))
    histogram = HistogramRelease("h", "H", ("segment",), 0.01, 100.0, (cell,), (total,))
    return Release("monthly-risk", 2, "2026-10", "cbirc", 5, 1, False, 0.01, NOW, (histogram,), 4, 0.16)


def test_identical_request_returns_the_cached_release(tmp_path: Path) -> None:
    cache = ReleaseCache.in_data_dir(tmp_path)
    produced: list[int] = []

    def produce() -> Release:
        produced.append(1)
        return _release(100 + len(produced))

    first = cache.get_or_release(_key(), produce)
    second = ReleaseCache.in_data_dir(tmp_path).get_or_release(_key(), produce)
    assert produced == [1]
    assert second == first
    assert cache.put(_release(999)) == first  # The first release wins; never replaced.
    assert cache.get(_key(regulator="pboc")) is None


def test_release_json_round_trip() -> None:
    release = _release(42)
    assert Release.from_json(release.to_json()) == release
    assert release.released_at.tzinfo is not None
    assert isinstance(release.released_at, dt.datetime)

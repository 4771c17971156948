from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from gateway.errors import RateLimited
from gateway.reports.budget import AlreadyReleasedError, BudgetPolicy, PrivacyLedger, ReleaseCache
from gateway.reports.release import HistogramRelease, Release, ReleaseCell, ReleaseKey, Treatment

NOW = dt.datetime(2026, 11, 3, 9, 0, tzinfo=dt.UTC)


def _ledger(tmp_path: Path, policy: BudgetPolicy) -> PrivacyLedger:
    return PrivacyLedger.in_data_dir(tmp_path, policy, clock=lambda: NOW)


def _key(template_id: str = "monthly-risk", regulator: str = "cbirc") -> ReleaseKey:
    return ReleaseKey(template_id, "2026-10", regulator)


def test_budget_file_is_valid(budget_policy: BudgetPolicy) -> None:
    assert budget_policy.accounting == "zCDP"
    assert budget_policy.rho_per_regulator_period == 0.05


def test_charges_add_up_and_refuse_beyond_budget(tmp_path: Path, budget_policy: BudgetPolicy) -> None:
    ledger = _ledger(tmp_path, budget_policy)
    ledger.charge(_key("a"), template_version=1, request_hash=b"\x01" * 32, rho=0.03)
    ledger.charge(_key("b"), template_version=1, request_hash=b"\x02" * 32, rho=0.02)
    assert ledger.spent("cbirc", "2026-10") == pytest.approx(0.05)
    with pytest.raises(
        RateLimited, match="privacy budget exhausted for regulator cbirc in 2026-10"
    ) as caught:
        ledger.charge(_key("c"), template_version=1, request_hash=b"\x03" * 32, rho=0.001)
    assert caught.value.reason == "privacy_budget_exhausted"
    # Another regulator, or another month, has its own budget.
    ledger.charge(_key("c", regulator="pboc"), template_version=1, request_hash=b"\x04" * 32, rho=0.01)


def test_budget_persists_across_reopen(tmp_path: Path, budget_policy: BudgetPolicy) -> None:
    _ledger(tmp_path, budget_policy).charge(
        _key("a"), template_version=1, request_hash=b"\x01" * 32, rho=0.045
    )
    reopened = _ledger(tmp_path, budget_policy)
    assert reopened.spent("cbirc", "2026-10") == pytest.approx(0.045)
    assert [e.template_id for e in reopened.entries("cbirc", "2026-10")] == ["a"]
    with pytest.raises(RateLimited):
        reopened.charge(_key("b"), template_version=1, request_hash=b"\x02" * 32, rho=0.01)


def test_reattempt_of_same_request_is_charged_once(tmp_path: Path, budget_policy: BudgetPolicy) -> None:
    ledger = _ledger(tmp_path, budget_policy)
    first = ledger.charge(_key(), template_version=1, request_hash=b"\x01" * 32, rho=0.014)
    again = ledger.charge(_key(), template_version=1, request_hash=b"\x01" * 32, rho=0.014)
    assert again == first
    assert ledger.spent("cbirc", "2026-10") == pytest.approx(0.014)


def test_repeated_request_for_released_key_is_never_renoised(
    tmp_path: Path, budget_policy: BudgetPolicy
) -> None:

    ledger = _ledger(tmp_path, budget_policy)
    ledger.charge(_key(), template_version=1, request_hash=b"\x01" * 32, rho=0.014)
    with pytest.raises(AlreadyReleasedError, match="answered from the cache"):
        ledger.charge(_key(), template_version=1, request_hash=b"\x09" * 32, rho=0.014)


def _release(count: int) -> Release:
    cell = ReleaseCell(("bank",), count, Treatment.NOISED)
    histogram = HistogramRelease("h", "H", ("segment",), 0.01, 100.0, (cell,))
    return Release("monthly-risk", 1, "2026-10", "cbirc", 5, 1, False, 0.01, NOW, (histogram,))


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

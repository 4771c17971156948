"""The regulator, playing curious: noised releases only, cached repeats, composition, dropouts."""

from __future__ import annotations

import pytest
from stat_bounds import (
    binomial_limit,
    poisson_binomial_interval,
    skellam_at_exactly,
    skellam_at_least,
    skellam_bound,
)

from gateway.clock import system_clock
from gateway.reports.budget import BUDGET_FILE, BudgetPolicy, PrivacyLedger
from gateway.reports.histograms import Counts, Period
from gateway.reports.release import Release, plan_release

from ..subject_check.conftest import Consortium
from .conftest import PERIOD, Regulator, true_counts

pytestmark = pytest.mark.slow


def _assert_truth_plus_stated_noise(
    releases: list[tuple[Release, dict[str, Counts]]], threshold: int
) -> None:
    """Each release is its true counts plus Skellam noise of the variance it states.

    A cell's noise is a Skellam draw of the stated variance (the members' Skellam shares sum
    to one), and the cell is released when true count + noise reaches ``threshold``. So
    (1) every released error lies within the exact Chernoff bound (1e-7 for all together);
    (2) the number of released cells is a Poisson-binomial count of known probabilities, and
    the exact interval leaves 1e-7. Most true counts lie below the threshold, so that count
    moves with the noise's spread: noise of a third of the stated variance (the mutation)
    releases about a hundred cells fewer in the suite's three-month test, outside the interval.
    """
    released = 0
    probabilities: list[float] = []
    errors: list[tuple[int, float]] = []
    for release, truth in releases:
        for histogram in release.histograms:
            if histogram.histogram_id not in truth:
                continue
            for true, cell in zip(truth[histogram.histogram_id], histogram.cells, strict=True):
                probabilities.append(skellam_at_least(threshold - int(true), histogram.noise_variance))
                if cell.noisy_count is not None:
                    released += 1
                    errors.append((cell.noisy_count - int(true), histogram.noise_variance))
    assert all(abs(e) < skellam_bound(v, cells=len(probabilities)) for e, v in errors)
    low, high = poisson_binomial_interval(probabilities)
    assert low <= released <= high, (low, released, high)


def _ledger(world: Consortium, member_id: str) -> PrivacyLedger:
    settings = world.settings[member_id]
    policy = BudgetPolicy.from_file(settings.policies_dir / BUDGET_FILE)
    return PrivacyLedger.in_data_dir(settings.data_dir, policy, clock=system_clock)


def test_release_is_the_truth_plus_noise_of_the_stated_variance(
    consortium: Consortium, regulator: Regulator
) -> None:
    # Three months of history, each its own release with fresh noise.
    periods = [str(Period.parse(PERIOD).before(n)) for n in range(3)]
    reports = [regulator.request("monthly-risk", period) for period in periods]

    for report in reports:
        assert report.release.answering_members == 5 and not report.from_cache
    truths = [true_counts(consortium, r.template, p) for r, p in zip(reports, periods, strict=True)]
    threshold = reports[0].template.release.noisy_count_threshold
    _assert_truth_plus_stated_noise([(r.release, t) for r, t in zip(reports, truths, strict=True)], threshold)
    multi = reports[0].release.histograms[-1]
    # Borrowers with one lender: about 2,000, released unless the noise is below -1,900 (never).
    assert multi.histogram_id == "lenders_per_borrower" and multi.cells[1].noisy_count is not None


def test_identical_request_returns_the_cached_release_and_is_charged_once(
    consortium: Consortium, regulator: Regulator
) -> None:
    first = regulator.request("monthly-risk")
    again = [regulator.request("monthly-risk") for _ in range(3)]

    assert all(r.from_cache and r.release == first.release for r in again)
    for member_id in consortium.members:
        entries = _ledger(consortium, member_id).entries("cbirc", PERIOD)
        assert [(e.template_id, e.rho) for e in entries] == [("monthly-risk", pytest.approx(0.014))]


def test_overlapping_templates_are_noised_independently_and_charged_in_sum(
    consortium: Consortium, regulator: Regulator
) -> None:
    risk = regulator.request("monthly-risk")
    snapshot = regulator.request("monthly-delinquency")

    a, b = risk.release.histograms[0], snapshot.release.histograms[0]
    threshold = risk.template.release.noisy_count_threshold
    truth = true_counts(consortium, risk.template)[a.histogram_id]
    both = [
        (x.noisy_count, y.noisy_count)
        for x, y in zip(a.cells, b.cells, strict=True)
        if x.noisy_count is not None and y.noisy_count is not None
    ]
    # Independent draws: a cell's two releases differ by a Skellam of the summed variance, so
    # they agree with probability at most q = P(Skellam = 0) per cell, independently across
    # cells: fewer than ``limit`` agreements except with 1e-7 (binomial tail). Reused noise
    # makes every cell released in both agree; that is at least ``limit`` cells, except with
    # 1e-7 (the exact Poisson-binomial interval of the cells released in both).
    q = skellam_at_exactly(0, a.noise_variance + b.noise_variance)
    limit = binomial_limit(len(a.cells), q)
    chances = [
        skellam_at_least(threshold - int(t), a.noise_variance)
        * skellam_at_least(threshold - int(t), b.noise_variance)
        for t in truth
    ]
    fewest_in_both, _ = poisson_binomial_interval(chances)
    assert fewest_in_both >= limit, (fewest_in_both, limit)  # the test can tell reuse apart
    assert len(both) >= fewest_in_both
    assert sum(x == y for x, y in both) < limit
    for member_id in consortium.members:
        assert _ledger(consortium, member_id).spent("cbirc", PERIOD) == pytest.approx(0.018)


def test_member_dropping_mid_round_is_rerun_over_survivors_with_noise_for_four(
    consortium: Consortium, regulator: Regulator
) -> None:
    consortium.members["bank-3"].stop()  # still listed online: the bureau's call to it fails

    report = regulator.request("monthly-risk")

    four = plan_release(report.template, answering=4)
    assert report.release.answering_members == 4
    for histogram in report.release.histograms:
        plan = four.histograms[histogram.histogram_id].counts
        assert histogram.noise_variance == pytest.approx(plan.total_variance)
        # The guaranteed noise (any three honest members) is what five members would give.
        assert (
            plan.target_variance
            == plan_release(report.template, answering=5)
            .histograms[histogram.histogram_id]
            .counts.target_variance
        )
    truth = true_counts(consortium, report.template, members=("bank-1", "bank-2", "cfc-1", "agency-1"))
    del truth["lenders_per_borrower"]  # bank-3's pseudonyms are missing too; checked elsewhere
    _assert_truth_plus_stated_noise([(report.release, truth)], report.template.release.noisy_count_threshold)

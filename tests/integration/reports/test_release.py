"""The regulator, playing curious: noised releases only, cached repeats, composition, dropouts."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest

from gateway.reports.budget import BUDGET_FILE, BudgetPolicy, PrivacyLedger
from gateway.reports.histograms import Counts
from gateway.reports.release import Release, plan_release

from ..subject_check.conftest import Consortium
from .conftest import Regulator, true_counts

pytestmark = pytest.mark.slow


def _z_scores(release: Release, truth: dict[str, Counts]) -> np.ndarray:
    """(released − true) / σ over the cells of the histograms in ``truth`` large enough to be
    released whatever their noise (smaller released cells are biased upwards by suppression)."""
    scores = []
    for histogram in release.histograms:
        if histogram.histogram_id not in truth:
            continue
        sigma = math.sqrt(histogram.noise_variance)
        for index, cell in enumerate(histogram.cells):
            if truth[histogram.histogram_id][index] > 11 + 3 * sigma:
                assert cell.noisy_count is not None
                error = cell.noisy_count - int(truth[histogram.histogram_id][index])
                scores.append(error / sigma)
    return np.array(scores)


def _ledger(world: Consortium, member_id: str) -> PrivacyLedger:
    settings = world.settings[member_id]
    policy = BudgetPolicy.from_file(settings.policies_dir / BUDGET_FILE)
    return PrivacyLedger.in_data_dir(settings.data_dir, policy, clock=lambda: dt.datetime.now(dt.UTC))


def test_release_is_the_truth_plus_noise_of_the_stated_variance(
    consortium: Consortium, regulator: Regulator
) -> None:
    report = regulator.request("monthly-risk")

    truth = true_counts(consortium, report.template)
    z = _z_scores(report.release, truth)
    assert report.release.answering_members == 5 and not report.from_cache
    # Bounds a correct run exceeds with probability below 1e-4 (12 degrees of freedom or more).
    assert len(z) >= 12
    assert np.abs(z).max() < 5, z  # the true count plus noise of the stated size
    assert 0.15 < float(np.var(z)) < 3.0 and abs(float(np.mean(z))) < 1.2, z
    # An exact count is the exception a wide draw allows (about 2 % of cells at σ ≈ 22).
    assert int(np.sum(z == 0)) <= max(3, len(z) // 8), z
    multi = report.release.histograms[-1]
    assert multi.histogram_id == "lenders_per_borrower" and multi.cells[1].noisy_count is not None


def test_identical_request_returns_the_cached_release_and_is_charged_once(
    consortium: Consortium, regulator: Regulator
) -> None:
    first = regulator.request("monthly-risk")
    again = [regulator.request("monthly-risk") for _ in range(3)]

    assert all(r.from_cache and r.release == first.release for r in again)
    for member_id in consortium.members:
        entries = _ledger(consortium, member_id).entries("cbirc", "2026-10")
        assert [(e.template_id, e.rho) for e in entries] == [("monthly-risk", pytest.approx(0.014))]


def test_overlapping_templates_are_noised_independently_and_charged_in_sum(
    consortium: Consortium, regulator: Regulator
) -> None:
    risk = regulator.request("monthly-risk")
    snapshot = regulator.request("monthly-delinquency")

    a, b = risk.release.histograms[0], snapshot.release.histograms[0]
    both = [
        (x.noisy_count, y.noisy_count)
        for x, y in zip(a.cells, b.cells, strict=True)
        if x.noisy_count is not None and y.noisy_count is not None
    ]
    differences = np.array([x - y for x, y in both], dtype=float)
    # Independent draws: the difference of the two releases is noise of up to twice the
    # variance (less where suppression selects), never zero as reused noise would make it.
    assert len(both) > 20
    assert float(np.var(differences)) > 0.25 * 2 * a.noise_variance
    assert int(np.sum(differences == 0)) <= max(4, len(both) // 10)
    for member_id in consortium.members:
        assert _ledger(consortium, member_id).spent("cbirc", "2026-10") == pytest.approx(0.018)


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
    z = _z_scores(report.release, truth)
    assert len(z) >= 4 and np.abs(z).max() < 5  # the survivors' true counts plus noise

"""The regulator, playing curious: noised releases only, cached repeats, composition, dropouts."""

from __future__ import annotations

import numpy as np
import pytest
from stat_bounds import binomial_limit, skellam_at_exactly, weighted_skellam_bound

from gateway.reports.histograms import Counts, Period
from gateway.reports.release import Release, noise_weights, plan_release
from gateway.reports.templates import Feed, MarginSpec, ReportTemplate

from ..subject_check.conftest import Consortium
from .conftest import PERIOD, Regulator, charges, true_counts

pytestmark = pytest.mark.slow


def published_errors(
    release: Release, template: ReportTemplate, truth: dict[str, Counts]
) -> list[tuple[float, float]]:
    """Every published figure's error and its bound (cells and totals; lenders per borrower apart).

    A figure is a fixed linear combination of independent Skellam noises (the reconciliation
    weights, ``noise_weights``) plus rounding of less than one, so its error stays below the
    exact Chernoff bound for that combination plus one; the union bound over every figure of
    the call leaves 1e-7 (stat_bounds.FALSE_FAILURE) for all of them together.
    """
    plan = plan_release(template, answering=release.answering_members)
    rows: list[tuple[float, np.ndarray, np.ndarray]] = []
    for histogram in release.histograms:
        spec = template.histogram(histogram.histogram_id)
        if spec.feed is Feed.LENDERS_PER_BORROWER:
            continue
        cells = truth[histogram.histogram_id]
        for dimensions, weights, variances in noise_weights(template, spec, plan.histograms[spec.id]):
            if dimensions == spec.dimensions:
                figures, true = list(histogram.cells), cells
            else:
                margin = histogram.margin(dimensions)
                assert margin is not None
                index = template.margin_index(spec, MarginSpec(dimensions=dimensions, rho=1.0))
                true = np.zeros(len(margin.cells), dtype=np.int64)
                np.add.at(true, np.asarray(index), cells)
                figures = list(margin.cells)
            for figure, expected, row in zip(figures, true, weights, strict=True):
                if figure.noisy_count is not None:
                    rows.append((figure.noisy_count - float(expected), row, variances))
    return [
        (error, weighted_skellam_bound(row, variances, figures=len(rows)) + 1.0)
        for error, row, variances in rows
    ]


def test_published_figures_are_the_truth_plus_noise_of_the_stated_weights(
    consortium: Consortium, regulator: Regulator
) -> None:
    # Two months of history, each its own release with fresh noise.
    periods = [str(Period.parse(PERIOD).before(n)) for n in range(2)]
    reports = [regulator.request("monthly-risk", period) for period in periods]

    for report, period in zip(reports, periods, strict=True):
        assert report.release.answering_members == 5 and not report.from_cache
        truth = true_counts(consortium, report.template, period)
        errors = published_errors(report.release, report.template, truth)
        assert len(errors) > 50
        assert all(abs(error) <= bound for error, bound in errors), max(
            errors, key=lambda e: abs(e[0]) - e[1]
        )
        # Every histogram publishes totals that are the sums of its cells, suppressed ones included.
        for histogram in report.release.histograms:
            assert histogram.total.noisy_count is not None
    multi = reports[0].release.histogram("lenders_per_borrower")
    # Borrowers with one lender: about 2,000, published unless the noise is below -1,900 (never).
    assert multi.cells[0].noisy_count is not None and multi.cells[0].noisy_count > 1000


def test_identical_request_returns_the_cached_release_and_is_charged_once(
    consortium: Consortium, regulator: Regulator
) -> None:
    first = regulator.request("monthly-risk")
    again = [regulator.request("monthly-risk") for _ in range(3)]

    assert all(r.from_cache and r.release == first.release for r in again)
    for member_id in consortium.members:
        assert [
            (c.template_id, c.rho, c.refunded) for c in charges(consortium, member_id, "cbirc", PERIOD)
        ] == [("monthly-risk", pytest.approx(0.014), False)]


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
    # Independent draws: two releases of a cell differ by noise of at least the cells' Skellam
    # variance (reconciliation moves a cell by its own and its totals' noises), so they agree
    # with probability at most q = P(Skellam(variance) = 0) per cell, as if independently across
    # cells; fewer than ``limit`` agreements except with 1e-7 (binomial tail). Reused noise makes
    # every cell published in both agree, and at least twice ``limit`` cells are (about 60).
    q = skellam_at_exactly(0, a.noise_variance)
    limit = binomial_limit(len(a.cells), q)
    assert len(both) >= 2 * limit
    assert sum(x == y for x, y in both) < limit
    for member_id in consortium.members:
        spent = sum(c.rho for c in charges(consortium, member_id, "cbirc", PERIOD) if not c.refunded)
        assert spent == pytest.approx(0.018)


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
    errors = published_errors(report.release, report.template, truth)
    assert all(abs(error) <= bound for error, bound in errors)

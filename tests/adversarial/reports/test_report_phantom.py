"""A segment no member lends in (finding 8): its published total is noise around zero, never a bias.

Tried as a new user would before issue #13: four members, none a micro-lender, and the report
charted about 950 delinquent micro-loan borrowers — totals summed only the cells whose noise
had lifted them over the suppression threshold. Now totals are measured, reconciled with the
cells by least squares, and include every suppressed part: over 20 releases the phantom
segment's total stays near zero, and the mean of every published total is its truth.
"""

from __future__ import annotations

import numpy as np
import pytest
from integration.subject_check.conftest import MEMBERS
from stat_bounds import weighted_skellam_bound

from gateway.clock import system_clock
from gateway.config import default_policies_dir
from gateway.policy.contact_rules import ContactRules
from gateway.reports.exact import exact_counts
from gateway.reports.histograms import Period
from gateway.reports.release import noise_weights, plan_release
from gateway.reports.templates import MarginSpec

from .conftest import PERIOD, ReportWorld

pytestmark = pytest.mark.slow

RELEASES = 20


def test_phantom_segment_totals_are_unbiased_noise_around_zero(world: ReportWorld) -> None:
    reports = [world.request(f"reg-phantom-{n:02d}", "monthly-delinquency") for n in range(RELEASES)]

    template = reports[0].template
    spec = template.histograms[0]
    urls = {m: world.settings[m].store_url for m in MEMBERS}
    truth = exact_counts(
        MEMBERS,
        urls,
        template,
        Period.parse(PERIOD),
        contact_rules=ContactRules.from_directory(default_policies_dir()),
        now=system_clock(),
    )[spec.id]
    assert all(r.release.answering_members == 5 for r in reports)
    plan = plan_release(template, answering=5).histograms[spec.id]
    levels = {dims: (weights, variances) for dims, weights, variances in noise_weights(template, spec, plan)}

    # The bounds (tests/stat_bounds.py): a published total is, before rounding (< 1), a fixed
    # weighted sum of independent Skellam noises (the reconciliation weights), so the exact
    # Chernoff bound of that sum holds. (1) The phantom segment's total in each release: 20
    # figures share 4e-7. (2) The mean over the 20 independent releases of each of the 22
    # published totals (grand total, 3 segments, 18 segment × DPD) is a weighted sum of
    # 20 × the noises with weights / 20: 22 figures share 4e-7. In all, 8e-7 ≤ 1e-6.
    weights, variances = levels[("segment",)]
    micro = template.dimensions["segment"].cells.index("micro_loan")
    single = weighted_skellam_bound(weights[micro], variances, figures=RELEASES, budget=4e-7) + 1.0
    sigma = float(np.sqrt(np.sum(weights[micro] ** 2 * variances)))
    assert single < 7 * sigma  # a few σ: the "3σ", widened to a 1e-6 false-failure rate
    for report in reports:
        segments = report.release.histogram(spec.id).margin(("segment",))
        assert segments is not None
        phantom = segments.cells[micro]
        assert phantom.coordinates == ("micro_loan",)
        assert phantom.noisy_count is not None and abs(phantom.noisy_count) <= single, (
            phantom.noisy_count,
            single,
        )

    figures = sum(len(w) for dims, (w, _) in levels.items() if dims != spec.dimensions)
    for dims, (weights, variances) in levels.items():
        if dims == spec.dimensions:
            continue
        index = template.margin_index(spec, MarginSpec(dimensions=dims, rho=1.0))
        true = np.zeros(len(weights))
        np.add.at(true, np.asarray(index), truth)
        published = np.array(
            [[cell.noisy_count for cell in _level(report, spec.id, dims)] for report in reports],
            dtype=np.float64,
        )
        mean = published.mean(axis=0)
        for row, estimate, expected in zip(weights, mean, true, strict=True):
            bound = (
                weighted_skellam_bound(
                    np.tile(row / RELEASES, RELEASES),
                    np.tile(variances, RELEASES),
                    figures=figures,
                    budget=4e-7,
                )
                + 1.0
            )
            # The old estimator (the mutation: totals summed from the published cells only) puts
            # the micro-loan total hundreds of persons above zero, outside this bound.
            assert abs(estimate - expected) <= bound, (dims, estimate, expected, bound)


def _level(report: object, histogram_id: str, dims: tuple[str, ...]) -> list:  # type: ignore[type-arg]
    histogram = report.release.histogram(histogram_id)  # type: ignore[attr-defined]
    margin = histogram.margin(dims)
    assert margin is not None
    return list(margin.cells)

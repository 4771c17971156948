from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from gateway.aggregation.field import add, decode, encode
from gateway.errors import InvalidInputError
from gateway.reports.histograms import Period
from gateway.reports.noise import NoiseShareSource
from gateway.reports.release import (
    HistogramMeasurements,
    ReleasePlan,
    SuppressionReason,
    Treatment,
    build_release,
    dominance_flags,
    institution_indicators,
    plan_release,
)
from gateway.reports.templates import ReportTemplate

NOW = dt.datetime(2026, 11, 3, 9, 0, tzinfo=dt.UTC)

PERIOD = Period.parse("2026-10")


def _vectors(template: ReportTemplate, value: int) -> dict[str, np.ndarray]:
    return {h.id: np.full(template.width(h), value, dtype=np.int64) for h in template.histograms}


def _measured(
    template: ReportTemplate,
    plan: ReleasePlan,
    counts: dict[str, np.ndarray],
    institutions: dict[str, np.ndarray] | None = None,
    dominance: dict[str, np.ndarray] | None = None,
) -> dict[str, HistogramMeasurements]:
    """Noise-free measurements consistent with ``counts``: each total the sum of its cells."""
    measured = {}
    for histogram in template.histograms:
        margins = []
        for margin in histogram.margins:
            totals = np.zeros(template.margin_width(histogram, margin), dtype=np.int64)
            np.add.at(totals, np.asarray(template.margin_index(histogram, margin)), counts[histogram.id])
            margins.append(totals)
        gated = plan.histograms[histogram.id].institutions is not None
        measured[histogram.id] = HistogramMeasurements(
            counts[histogram.id],
            tuple(margins),
            institutions[histogram.id] if gated and institutions else None,
            dominance[histogram.id] if gated and dominance else None,
        )
    return measured


def test_plan_sizes_noise_for_answering_members_less_one_colluder(template: ReportTemplate) -> None:
    five = plan_release(template, answering=5)
    four = plan_release(template, answering=4)
    assert not five.rules_apply
    assert five.rho == pytest.approx(0.014)
    counts5 = five.histograms["delinquency"].counts
    counts4 = four.histograms["delinquency"].counts
    assert counts5.target_variance == counts4.target_variance
    assert counts4.share_variance == pytest.approx(counts5.share_variance * 4 / 3)
    eight = plan_release(template, answering=8)
    assert eight.rules_apply
    assert eight.rho == pytest.approx(0.014 + 5 * 0.001)  # lenders per borrower has no gates
    # A person at k members pays k² for every histogram but lenders per borrower (one bucket move).
    k = five.max_members_per_person
    assert five.rho_per_person == pytest.approx(k * k * 0.012 + 0.002)
    assert five.rho_counts_phase == pytest.approx(0.014) and five.rho_dominance_phase == 0


def test_noisy_counts_below_threshold_are_suppressed(template: ReportTemplate) -> None:
    plan = plan_release(template, answering=5)
    counts = _vectors(template, 50)
    counts["inquiries"][0] = 10
    counts["inquiries"][1] = 11
    release = build_release(
        template,
        plan,
        period=PERIOD,
        regulator="cbirc",
        measurements=_measured(template, plan, counts),
        released_at=NOW,
    )
    inquiries = next(h for h in release.histograms if h.histogram_id == "inquiries")
    assert inquiries.cells[0].treatment is Treatment.SUPPRESSED
    assert inquiries.cells[0].noisy_count is None
    assert inquiries.cells[0].reasons == (SuppressionReason.BELOW_THRESHOLD,)
    assert inquiries.cells[1].noisy_count == 11
    assert inquiries.cells[1].coordinates == ("loan_approval",)
    assert not release.institution_rules_applied
    # Suppression hides a value but not from the total: 10 + 11 + 9 × 50.
    assert inquiries.total.noisy_count == 10 + 11 + 9 * 50


def test_institution_and_dominance_gates_apply_when_large_enough(template: ReportTemplate) -> None:
    plan = plan_release(template, answering=9)
    counts, institutions, dominance = _vectors(template, 500), _vectors(template, 6), _vectors(template, 0)
    institutions["applications"][0] = 4
    dominance["applications"][1] = 1
    release = build_release(
        template,
        plan,
        period=PERIOD,
        regulator="cbirc",
        measurements=_measured(template, plan, counts, institutions, dominance),
        released_at=NOW,
    )
    applications = next(h for h in release.histograms if h.histogram_id == "applications")
    assert applications.cells[0].reasons == (SuppressionReason.FEW_INSTITUTIONS,)
    assert applications.cells[1].reasons == (SuppressionReason.DOMINANT_INSTITUTION,)
    assert applications.cells[2].treatment is Treatment.NOISED
    with pytest.raises(InvalidInputError, match="institution and dominance sums"):
        build_release(
            template,
            plan,
            period=PERIOD,
            regulator="cbirc",
            measurements=_measured(template, plan, counts),
            released_at=NOW,
        )


def test_wrong_vector_length_is_refused(template: ReportTemplate) -> None:
    plan = plan_release(template, answering=5)
    measured = _measured(template, plan, _vectors(template, 50))
    short = measured["outstanding"]
    measured["outstanding"] = HistogramMeasurements(short.counts[:-1], short.margins)
    with pytest.raises(InvalidInputError, match="expected shape"):
        build_release(
            template, plan, period=PERIOD, regulator="cbirc", measurements=measured, released_at=NOW
        )


def test_member_indicator_and_dominance_vectors() -> None:
    own = np.array([0, 3, 40, 5], dtype=np.int64)
    totals = np.array([100, 100, 100, -4], dtype=np.int64)
    assert institution_indicators(own).tolist() == [0, 1, 1, 1]
    assert dominance_flags(own, totals, share=0.25).tolist() == [0, 0, 1, 1]


def test_noisy_vectors_sum_exactly_in_the_masking_field(template: ReportTemplate) -> None:
    # Members' bounded counts plus noise shares, encoded as for mask_contribution, sum in
    # the field to the true total plus the summed noise (masks cancel; tested in aggregation).
    plan = plan_release(template, answering=5).histograms["inquiries"].counts
    width = template.width(template.histogram("inquiries"))
    rng = np.random.default_rng(11)
    members = [rng.integers(0, 30, width) for _ in range(5)]
    shares = [NoiseShareSource(np.random.default_rng(i)).share(plan, width) for i in range(5)]
    total = encode(np.zeros(width, dtype=np.int64))
    for counts, share in zip(members, shares, strict=True):
        total = add(total, encode(counts + share))
    expected = np.sum(np.stack(members), axis=0) + np.sum(np.stack(shares), axis=0)
    assert decode(total).tolist() == expected.tolist()


def test_published_totals_equal_their_parts_at_every_level(template: ReportTemplate) -> None:
    plan = plan_release(template, answering=5)
    rng = np.random.default_rng(8)
    counts = {h.id: rng.integers(-20, 60, template.width(h)) for h in template.histograms}
    counts["lenders_per_borrower"] = np.array([2000, 300, 40, 6, 1])
    measured = _measured(template, plan, counts)
    # Totals measured with their own noise, off from the cells' sums.
    delinquency = measured["delinquency"]
    measured["delinquency"] = HistogramMeasurements(
        delinquency.counts, tuple(m + rng.integers(-30, 30, m.size) for m in delinquency.margins)
    )
    release = build_release(
        template, plan, period=PERIOD, regulator="cbirc", measurements=measured, released_at=NOW
    )
    spec = template.histogram("delinquency")
    histogram = release.histogram("delinquency")
    by_segment = histogram.margin(("segment",))
    by_segment_dpd = histogram.margin(("segment", "dpd_bucket"))
    assert by_segment is not None and by_segment_dpd is not None
    assert histogram.total.noisy_count == sum(c.noisy_count or 0 for c in by_segment.cells)
    for segment in by_segment.cells:
        parts = [c.noisy_count for c in by_segment_dpd.cells if c.coordinates[0] == segment.coordinates[0]]
        assert segment.noisy_count == sum(p or 0 for p in parts)
    assert len(histogram.cells) == template.width(spec)

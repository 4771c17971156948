from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from gateway.aggregation.field import add, decode, encode
from gateway.errors import InvalidInputError
from gateway.reports.histograms import Period
from gateway.reports.noise import NoiseShareSource
from gateway.reports.release import (
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
    assert eight.rho == pytest.approx(0.014 + 5 * 0.001)  # the pseudonym-join histogram has no gates


def test_noisy_counts_below_threshold_are_suppressed(template: ReportTemplate) -> None:
    plan = plan_release(template, answering=5)
    counts = _vectors(template, 50)
    counts["inquiries"][0] = 10
    counts["inquiries"][1] = 11
    release = build_release(
        template, plan, period=PERIOD, regulator="cbirc", noisy_counts=counts, released_at=NOW
    )
    inquiries = next(h for h in release.histograms if h.histogram_id == "inquiries")
    assert inquiries.cells[0].treatment is Treatment.SUPPRESSED
    assert inquiries.cells[0].noisy_count is None
    assert inquiries.cells[0].reasons == (SuppressionReason.BELOW_THRESHOLD,)
    assert inquiries.cells[1].noisy_count == 11
    assert inquiries.cells[1].coordinates == ("loan_approval",)
    assert not release.institution_rules_applied


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
        noisy_counts=counts,
        noisy_institutions=institutions,
        noisy_dominance=dominance,
        released_at=NOW,
    )
    applications = next(h for h in release.histograms if h.histogram_id == "applications")
    assert applications.cells[0].reasons == (SuppressionReason.FEW_INSTITUTIONS,)
    assert applications.cells[1].reasons == (SuppressionReason.DOMINANT_INSTITUTION,)
    assert applications.cells[2].treatment is Treatment.NOISED
    with pytest.raises(InvalidInputError, match="institution and dominance sums"):
        build_release(template, plan, period=PERIOD, regulator="cbirc", noisy_counts=counts, released_at=NOW)


def test_wrong_vector_length_is_refused(template: ReportTemplate) -> None:
    counts = _vectors(template, 50)
    counts["outstanding"] = counts["outstanding"][:-1]
    with pytest.raises(InvalidInputError, match="expected shape"):
        build_release(
            template,
            plan_release(template, answering=5),
            period=PERIOD,
            regulator="cbirc",
            noisy_counts=counts,
            released_at=NOW,
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
    shares = [NoiseShareSource(np.random.default_rng(i)).share(plan, width, attempt_key=0) for i in range(5)]
    total = encode(np.zeros(width, dtype=np.int64))
    for counts, share in zip(members, shares, strict=True):
        total = add(total, encode(counts + share))
    expected = np.sum(np.stack(members), axis=0) + np.sum(np.stack(shares), axis=0)
    assert decode(total).tolist() == expected.tolist()

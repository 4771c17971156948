"""Reconciliation, controlled rounding and persons from buckets (gateway.reports.estimate)."""

from __future__ import annotations

import numpy as np
import pytest

from gateway.reports.estimate import Measurement, controlled_round, persons_from_buckets, reconcile


def test_reconciled_estimate_is_unbiased_and_totals_add_up() -> None:
    # Six cells in two groups of three; the cells, the group totals and the grand total are each
    # measured once with Gaussian noise (seeded generator). The GLS estimate is a fixed linear
    # map of the measurements that reproduces any noise-free input exactly (unbiasedness): with
    # zero noise it returns the truth, to rounding error.
    truth = np.array([5.0, 0.0, 12.0, 40.0, 3.0, 0.0])
    groups = [0, 0, 0, 1, 1, 1]
    exact = [
        Measurement(None, truth, 9.0),
        Measurement(groups, np.array([17.0, 43.0]), 4.0),
        Measurement([0] * 6, np.array([60.0]), 1.0),
    ]
    fitted = reconcile(6, exact)
    assert fitted.cells == pytest.approx(truth, abs=1e-9)
    # With noise, the totals of the estimate are the estimate's totals (consistency), and the
    # grand total's standard error is below every measurement's of it.
    rng = np.random.default_rng(4)
    noisy = [
        Measurement(None, truth + rng.normal(0, 3, 6), 9.0),
        Measurement(groups, np.array([17.0, 43.0]) + rng.normal(0, 2, 2), 4.0),
        Measurement([0] * 6, np.array([60.0]) + rng.normal(0, 1, 1), 1.0),
    ]
    fitted = reconcile(6, noisy)
    totals, _ = fitted.totals(groups, 2)
    assert totals.sum() == pytest.approx(fitted.cells.sum())
    _, grand_error = fitted.totals([0] * 6, 1)
    assert grand_error[0] < 1.0
    assert fitted.gain.shape == (6, 6 + 2 + 1)


def test_controlled_rounding_keeps_every_total_the_sum_of_its_parts() -> None:
    cells = np.array([0.4, 0.4, 0.4, 2.6, -0.7, 10.2])
    groups = [0, 0, 0, 1, 1, 1]
    group_totals = np.array([1.2, 12.1])
    total, by_group, by_cell = controlled_round(
        [(np.array([13.3]), None), (group_totals, [0, 0]), (cells, groups)]
    )
    assert total.tolist() == [13]
    assert by_group.sum() == 13
    assert by_cell[:3].sum() == by_group[0] and by_cell[3:].sum() == by_group[1]
    assert np.all(np.abs(by_cell - cells) < 1)


def test_persons_are_estimated_back_from_shared_buckets() -> None:
    # 40,000 persons with 1-6 lenders hashed into 2^18 buckets (seeded): about 7 % of the
    # buckets that hold anyone hold two or more persons, so counting buckets alone is off by
    # about two thousand persons with one lender; the compound-Poisson inversion recovers every
    # class within 4 % (or 40 persons) for this seed.
    rng = np.random.default_rng(17)
    holders = rng.choice([1, 2, 3, 4, 5, 6], size=40_000, p=[0.7, 0.15, 0.08, 0.04, 0.02, 0.01])
    buckets = 1 << 18
    counts = np.zeros(buckets, dtype=np.int64)
    np.add.at(counts, rng.integers(0, buckets, holders.size), holders)
    by_count = np.array(
        [np.count_nonzero(counts == k) for k in range(1, 5)] + [np.count_nonzero(counts >= 5)]
    )
    estimate, persons = persons_from_buckets(by_count.astype(float), buckets)
    true = np.array([np.count_nonzero(holders == k) for k in range(1, 5)] + [np.count_nonzero(holders >= 5)])
    assert persons == pytest.approx(40_000, rel=0.02)
    assert estimate == pytest.approx(true, rel=0.04, abs=40)
    assert abs(by_count[0] - true[0]) > 1_000  # what the buckets alone would have said

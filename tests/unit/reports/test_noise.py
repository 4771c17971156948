from __future__ import annotations

import numpy as np
import pytest
from stat_bounds import skellam_bound

from gateway.errors import InvalidInputError
from gateway.reports.noise import (
    NoisePlan,
    NoiseShareSource,
    calibrate_variance,
    draw_share,
    gaussian_rho,
    skellam_rho,
    zcdp_epsilon,
)


def _summed(plan: NoisePlan, *, cells: int, seed: int, honest_only: bool = False) -> np.ndarray:
    rng = np.random.default_rng(seed)
    members = plan.answering - plan.colluders if honest_only else plan.answering
    return sum((draw_share(plan, cells, rng=rng) for _ in range(members)), np.zeros(cells, dtype=np.int64))


def test_shares_sum_to_skellam_with_stated_variance() -> None:
    plan = NoisePlan(target_variance=400.0, answering=6, colluders=1)
    total = _summed(plan, cells=200_000, seed=2026)
    # Seeded, so deterministic; the bounds hold for any seed except with the stated chance.
    # Skellam(v): mean 0, variance v = 480, excess kurtosis 1/v. The mean of n = 200,000 cells
    # is Skellam(n v) / n: exact Chernoff bound at 1e-7. The sample variance has relative
    # standard deviation sqrt((2 + 1/v) / n) = 0.0032, so 2 % is 6.3 of them (normal tail of
    # the sample variance, 3e-10). Noise of a third of the variance (the mutation) misses by 67 %.
    assert abs(total.mean()) < skellam_bound(200_000 * plan.total_variance, cells=1) / 200_000
    assert total.var() == pytest.approx(plan.total_variance, rel=0.02)
    assert plan.total_variance == pytest.approx(400.0 * 6 / 5)
    honest = _summed(plan, cells=200_000, seed=7, honest_only=True)
    assert honest.var() == pytest.approx(400.0, rel=0.02)  # as above: 6.3 standard deviations
    assert total.dtype == np.int64


def test_fewer_members_get_larger_shares_and_keep_the_total_noise() -> None:
    five = NoisePlan(target_variance=300.0, answering=5, colluders=1)
    four = NoisePlan(target_variance=300.0, answering=4, colluders=1)
    assert four.share_variance > five.share_variance
    for plan, seed in ((five, 1), (four, 2)):
        honest = _summed(plan, cells=150_000, seed=seed, honest_only=True)
        # Seeded; for any seed, 2 % is 5.5 standard deviations of the sample variance (4e-8).
        assert honest.var() == pytest.approx(300.0, rel=0.02)


def test_every_share_is_a_fresh_draw() -> None:
    # A retry of an attempt is answered from the member's ledger (the stored share), never by
    # drawing again; every draw here is new.
    source = NoiseShareSource(np.random.default_rng(5))
    plan = NoisePlan(target_variance=100.0, answering=5, colluders=1)
    first = source.share(plan, 50)
    second = source.share(plan, 50)
    # Two independent 50-cell draws agree with probability P(Skellam(200) = 0)^50 < 10^-90.
    assert not np.array_equal(first, second)


def test_plan_needs_one_honest_member() -> None:
    with pytest.raises(InvalidInputError, match="at least one honest member"):
        NoisePlan(target_variance=10.0, answering=1, colluders=1)


def test_gaussian_rho_from_opendp_is_delta_squared_over_two_sigma_squared() -> None:
    assert gaussian_rho(375.0, l2_sensitivity=3**0.5) == pytest.approx(3 / 750)


def test_calibrated_variance_meets_rho_and_exceeds_gaussian_bound() -> None:
    variance = calibrate_variance(0.004, l1_sensitivity=3, l2_sensitivity=3**0.5)
    assert skellam_rho(variance, l1_sensitivity=3, l2_sensitivity=3**0.5) <= 0.004
    assert variance > 3 / (2 * 0.004)
    assert variance < 1.05 * 3 / (2 * 0.004)  # The Skellam correction is small at this noise.


def test_epsilon_statement_matches_the_standard_conversion() -> None:
    rho, delta = 0.05, 1e-6
    epsilon = zcdp_epsilon(rho, delta=delta)
    # Bun & Steinke 2016, Prop. 1.3: eps <= rho + 2 sqrt(rho log(1/delta)); OpenDP is tighter.
    assert 1.0 < epsilon <= rho + 2 * (rho * np.log(1 / delta)) ** 0.5

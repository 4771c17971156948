"""Bounds for statistical assertions, computed from a stated distribution and a failure budget.

Every statistical assertion in the suite takes its bound from here, so that the probability
that it fails on correct code is computed, not guessed. ``FALSE_FAILURE`` is the budget of one
assertion; a test holding a few of them stays below 10^-6 in all (docs/testing.md lists them).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import brentq, minimize_scalar
from scipy.stats import binom, chi2, skellam

#: Probability that one statistical assertion fails on correct code.
FALSE_FAILURE = 1e-7


def skellam_two_sided_tail(t: float, variance: float) -> float:
    """Chernoff bound on ``P(|X| >= t)`` for a symmetric Skellam ``X`` of the given variance.

    ``X = P1 - P2`` with ``P1, P2 ~ Poisson(variance / 2)`` has log-MGF
    ``variance * (cosh(l) - 1)``; the bound ``exp(variance * (cosh l - 1) - l t)`` is least at
    ``sinh l = t / variance``, and symmetry doubles it. It holds exactly, at any variance.
    """
    if t <= 0:
        return 1.0
    lam = math.asinh(t / variance)
    return min(1.0, 2.0 * math.exp(variance * (math.cosh(lam) - 1.0) - lam * t))


def skellam_bound(variance: float, *, cells: int, budget: float = FALSE_FAILURE) -> float:
    """The ``t`` at which ``cells`` Skellam draws all stay below ``|t|`` except with ``budget``.

    Union bound over the cells: ``cells * P(|X| >= t) <= budget``.
    """
    target = budget / max(cells, 1)
    sigma = math.sqrt(variance)
    return brentq(lambda t: skellam_two_sided_tail(t, variance) - target, 1e-9, 200.0 * sigma + 200.0)


def binomial_limit(trials: int, probability: float, *, budget: float = FALSE_FAILURE) -> int:
    """The least ``c`` with ``P(K >= c) <= budget`` for ``K ~ Binomial(trials, probability)``."""
    limit = 0
    while binom.sf(limit - 1, trials, probability) > budget:
        limit += 1
    return limit


def chi_square_interval(dof: int, *, budget: float = FALSE_FAILURE) -> tuple[float, float]:
    """Bounds a ``chi2(dof)`` variable leaves, below or above, with probability ``budget`` in all."""
    return float(chi2.ppf(budget / 2, dof)), float(chi2.isf(budget / 2, dof))


def skellam_at_least(k: float, variance: float) -> float:
    """Exact ``P(X >= k)`` for a symmetric Skellam ``X`` of the given variance."""
    return float(skellam.sf(math.ceil(k) - 1, variance / 2, variance / 2))


def skellam_at_exactly(k: int, variance: float) -> float:
    """Exact ``P(X = k)`` for a symmetric Skellam ``X`` of the given variance."""
    return float(skellam.pmf(k, variance / 2, variance / 2))


def poisson_binomial_interval(
    probabilities: list[float], *, budget: float = FALSE_FAILURE
) -> tuple[int, int]:
    """Bounds the number of successes of independent Bernoulli(p_i) trials leaves with ``budget``.

    The distribution (Poisson binomial) is computed exactly by convolution; the interval leaves
    at most ``budget / 2`` on each side.
    """
    distribution = np.array([1.0])
    for p in probabilities:
        distribution = np.convolve(distribution, [1.0 - p, p])
    below = np.cumsum(distribution)
    above = np.cumsum(distribution[::-1])[::-1]
    low = int(np.searchsorted(below, budget / 2, side="right"))
    high = int(len(distribution) - 1 - np.searchsorted(above[::-1], budget / 2, side="right"))
    return low, high


def weighted_skellam_tail(t: float, weights: np.ndarray, variances: np.ndarray) -> float:
    """Chernoff bound on ``P(|Σ w_j X_j| >= t)``, ``X_j`` independent symmetric Skellam of variance ``v_j``.

    The log-MGF of ``Σ w_j X_j`` is ``Σ v_j (cosh(λ w_j) − 1)``; the bound
    ``2 exp(Σ v_j (cosh(λ w_j) − 1) − λ t)`` holds for every ``λ > 0`` (symmetry doubles one
    side), and is minimised numerically over ``λ``. It holds exactly, whatever the weights.
    """
    if t <= 0:
        return 1.0
    active = np.abs(weights) > 0
    w, v = np.abs(weights[active]), variances[active]
    if w.size == 0:
        return 0.0

    def exponent(lam: float) -> float:
        return float(np.sum(v * (np.cosh(lam * w) - 1.0))) - lam * t

    scale = float(np.sqrt(np.sum(v * w * w)))
    high = max(1e-9, 50.0 / float(w.max()))
    result = minimize_scalar(exponent, bounds=(1e-12, high), method="bounded", options={"xatol": 1e-10})
    best = min(float(result.fun), exponent(min(high, t / max(scale * scale, 1e-12))))
    return min(1.0, 2.0 * math.exp(best))


def weighted_skellam_bound(
    weights: np.ndarray, variances: np.ndarray, *, figures: int, budget: float = FALSE_FAILURE
) -> float:
    """The ``t`` with ``figures · P(|Σ w_j X_j| >= t) <= budget`` (union bound over ``figures``)."""
    target = budget / max(figures, 1)
    scale = float(np.sqrt(np.sum(variances * weights * weights)))
    return float(
        brentq(lambda t: weighted_skellam_tail(t, weights, variances) - target, 1e-9, 100.0 * scale + 100.0)
    )

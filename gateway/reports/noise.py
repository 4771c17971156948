"""Distributed Skellam noise shares and their zCDP accounting.

Mechanism (Agarwal, Kairouz, Liu, *The Skellam Mechanism for Differentially Private
Federated Learning*, NeurIPS 2021): Skellam(μ) is ``Poisson(μ/2) − Poisson(μ/2)``, an
integer distribution with mean 0 and variance μ, closed under summation. Each of the ``n``
answering members adds an independent Skellam(μ/(n−c)) share to every cell of its vector
before masking, so the honest members' shares (at least ``n − c`` of them when at most
``c`` members collude and subtract their own shares) sum to Skellam(μ') with μ' ≥ μ, and
the whole sum is Skellam(n·μ/(n−c)). No party ever sees an exact total.

Accounting: the paper bounds the Rényi divergence of the multidimensional Skellam mechanism
(its Theorem on multidimensional Skellam RDP; integer orders α > 1) as

    ε(α) ≤ α·Δ₂²/(2μ) + min( ((2α−1)·Δ₂² + 6·Δ₁) / (4μ²),  3·Δ₁/(2μ) ).

Each arm of the minimum is at most α times a constant (for α ≥ 1), so the mechanism is
ρ-zCDP with

    ρ = Δ₂²/(2μ) + min( Δ₂²/(2μ²) + max(0, 6Δ₁ − Δ₂²)/(4μ²),  3Δ₁/(2μ) ).

The leading term is the (discrete) Gaussian mechanism's ρ = Δ₂²/(2σ²) with σ² = μ; it is
computed with OpenDP's ``make_gaussian`` (whose map is exactly that bound). OpenDP has no
Skellam measurement, so the correction term is computed here from the paper's bound.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from gateway.aggregation.field import SignedValues
from gateway.errors import InvalidInputError
from gateway.reports.errors import NoiseReuseError

__all__ = [
    "NoisePlan",
    "NoiseReuseError",
    "NoiseShareSource",
    "calibrate_variance",
    "draw_share",
    "gaussian_rho",
    "skellam_rho",
    "zcdp_epsilon",
]


def gaussian_rho(variance: float, *, l2_sensitivity: float) -> float:
    """ρ of the Gaussian mechanism with variance ``variance``: Δ₂²/(2σ²), via OpenDP.

    Raises
    ------
    InvalidInputError
        When the variance or the sensitivity is not positive.

    """
    if variance <= 0 or l2_sensitivity <= 0:
        raise InvalidInputError("expected a positive variance and sensitivity", field="variance")
    dp = _opendp()
    measurement = dp.m.make_gaussian(
        dp.vector_domain(dp.atom_domain(T=float, nan=False)),
        dp.l2_distance(T=float),
        scale=math.sqrt(variance),
    )
    # The bindings are untyped (the prelude is imported as Any); check the result.
    rho = measurement.map(float(l2_sensitivity))
    if not isinstance(rho, float):
        raise InvalidInputError(f"OpenDP returned {type(rho).__name__}, expected float", field="rho")
    return rho


def skellam_rho(variance: float, *, l1_sensitivity: float, l2_sensitivity: float) -> float:
    """The zCDP ρ of the multidimensional Skellam mechanism with total honest variance ``variance``.

    See the module docstring for the bound and its source.
    """
    mu = float(variance)
    leading = gaussian_rho(mu, l2_sensitivity=l2_sensitivity)
    d2 = l2_sensitivity**2
    first_arm = d2 / (2 * mu**2) + max(0.0, 6 * l1_sensitivity - d2) / (4 * mu**2)
    second_arm = 3 * l1_sensitivity / (2 * mu)
    return leading + min(first_arm, second_arm)


def calibrate_variance(rho: float, *, l1_sensitivity: float, l2_sensitivity: float) -> float:
    """Smallest Skellam variance μ (to 0.1 %) whose ρ does not exceed ``rho``.

    Memoised: a release plans every vector of every phase from the same few figures.

    Raises
    ------
    InvalidInputError
        When ``rho`` is not positive.

    """
    return _calibrate(float(rho), float(l1_sensitivity), float(l2_sensitivity))


@functools.lru_cache(maxsize=512)
def _calibrate(rho: float, l1_sensitivity: float, l2_sensitivity: float) -> float:
    if rho <= 0:
        raise InvalidInputError(f"expected rho > 0, received {rho}", field="rho")
    low = l2_sensitivity**2 / (2 * rho)  # The Gaussian bound alone: never enough.
    high = 2 * low
    while skellam_rho(high, l1_sensitivity=l1_sensitivity, l2_sensitivity=l2_sensitivity) > rho:
        high *= 2
    while high - low > 1e-3 * low:
        middle = (low + high) / 2
        if skellam_rho(middle, l1_sensitivity=l1_sensitivity, l2_sensitivity=l2_sensitivity) > rho:
            low = middle
        else:
            high = middle
    return high


def zcdp_epsilon(rho: float, *, delta: float) -> float:
    """ε of (ε, δ)-DP implied by ρ-zCDP, via OpenDP's zCDP → approximate-DP conversion.

    Stated in reports only; the ledger is kept in ρ (zCDP composes by addition,
    Bun & Steinke 2016, Lemma 2.3).
    """
    if rho <= 0:
        return 0.0
    # A Gaussian with Δ₂ = 1 and σ² = 1/(2ρ) is exactly ρ-zCDP; its profile gives ε(δ).
    dp = _opendp()
    measurement = dp.c.make_zCDP_to_approxDP(
        dp.m.make_gaussian(
            dp.vector_domain(dp.atom_domain(T=float, nan=False)),
            dp.l2_distance(T=float),
            scale=math.sqrt(1 / (2 * rho)),
        )
    )
    # The bindings are untyped (the prelude is imported as Any); check the result.
    epsilon = measurement.map(1.0).epsilon(delta)
    if not isinstance(epsilon, float):
        raise InvalidInputError(f"OpenDP returned {type(epsilon).__name__}, expected float", field="epsilon")
    return epsilon


@dataclass(frozen=True)
class NoisePlan:
    """How much noise each answering member adds for one histogram in one attempt.

    Parameters
    ----------
    target_variance
        μ: the variance the honest members' shares must reach together.
    answering
        Members answering this attempt.
    colluders
        Members assumed to collude (they know, and could subtract, their own shares).

    """

    target_variance: float
    answering: int
    colluders: int

    def __post_init__(self) -> None:
        """Validate the sizes."""
        if self.target_variance <= 0:
            raise InvalidInputError("expected a positive target variance", field="target_variance")
        if self.colluders < 0 or self.answering - self.colluders < 1:
            raise InvalidInputError(
                f"expected at least one honest member, received {self.answering} answering "
                f"and {self.colluders} colluders",
                field="answering",
            )

    @classmethod
    def for_rho(
        cls, rho: float, *, l1_sensitivity: float, l2_sensitivity: float, answering: int, colluders: int
    ) -> NoisePlan:
        """The plan whose honest members' noise gives ρ-zCDP for the stated sensitivities."""
        variance = calibrate_variance(rho, l1_sensitivity=l1_sensitivity, l2_sensitivity=l2_sensitivity)
        return cls(variance, answering, colluders)

    @property
    def share_variance(self) -> float:
        """μ/(n − c): each member's Skellam share variance."""
        return self.target_variance / (self.answering - self.colluders)

    @property
    def total_variance(self) -> float:
        """n·μ/(n − c): the variance of the released sum's noise."""
        return self.share_variance * self.answering


def draw_share(plan: NoisePlan, size: int, *, rng: np.random.Generator) -> SignedValues:
    """One member's Skellam(μ/(n−c)) share: ``Poisson(v/2) − Poisson(v/2)`` per cell."""
    half = plan.share_variance / 2
    share: SignedValues = rng.poisson(half, size).astype(np.int64) - rng.poisson(half, size).astype(np.int64)
    return share


class NoiseShareSource:
    """A member's source of noise shares: fresh randomness for every share it computes.

    A member never sends two different shares for one attempt: its ledger
    (``gateway.reports.ledger``) stores the first share of every attempt it answers and
    re-sends that one on a retry, so a share drawn here and not stored was never sent.

    Parameters
    ----------
    rng
        The generator to draw from. Production passes ``np.random.default_rng()`` (seeded
        from the OS); tests pass a seeded generator.

    """

    def __init__(self, rng: np.random.Generator) -> None:
        self._rng = rng

    def share(self, plan: NoisePlan, size: int) -> SignedValues:
        """Draw one Skellam share of ``plan`` for ``size`` cells."""
        return draw_share(plan, size, rng=self._rng)


def _opendp() -> Any:
    """OpenDP's prelude, imported on first use (it pulls in scikit-learn: about a second)."""
    import opendp.prelude as dp

    dp.enable_features("contrib")
    return dp

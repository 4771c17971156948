"""Differential privacy of the tree phases (on by default): distributed Gaussian noise on the histograms.

With ``dp-epsilon`` > 0 in a ``gbt`` run, every member adds Gaussian noise of variance
``σ² / m`` to each element of its profile and tree-level vectors before masking, ``m``
being its own policy's ``[secagg] min_members`` (never the run config's), so the sum the
bureau unmasks carries at least the variance σ² whenever at least ``m`` honest members
answer; a member reveals no mask seed for an aggregation of fewer
(:meth:`federated.policy.SecAggPolicy.check_unmask`) (Dwork et al. 2006, "Our data, ourselves").

Accounting (zero-concentrated DP, Bun & Steinke 2016): one borrower row changes the
profile vector by at most ``Δ_p² = 2 + 3·C`` (row count, label, and per number/date
column its observed count, its encoded value in [-1, 1] and one sketch bucket) and each
tree-level vector by at most ``Δ_h² = I·(1 + 1/16)`` (its gradient in [-1, 1] and
hessian in [0, 1/4] in one bin of each of the ``I`` inputs). A Gaussian release of
sensitivity Δ costs ρ = Δ²/(2σ²); the run makes one profile and ``rounds × tree-depth``
tree-level releases, so σ is chosen for ``ρ_total`` from (ε, δ) by
``ρ = (√(ε + ln 1/δ) − √(ln 1/δ))²``. Federated evaluation (held-out rows) is not
charged, as for the other models.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from federated.errors import FeatureSpecError
from federated.features.spec import FeatureSpec
from federated.settings import RunSettings

__all__ = ["noise_share", "tree_sigma"]


def _rho(epsilon: float, delta: float) -> float:
    log_term = math.log(1.0 / delta)
    return (math.sqrt(epsilon + log_term) - math.sqrt(log_term)) ** 2


def tree_sigma(settings: RunSettings, spec: FeatureSpec) -> float:
    """σ of the summed noise that spends exactly ``dp-epsilon`` over the planned run.

    Raises
    ------
    FeatureSpecError
        When a number/date feature has no ``clip`` (its sum would have no bound).

    """
    unbounded = [f.column for f in spec.features if f.continuous and f.clip is None]
    if unbounded:
        raise FeatureSpecError(
            f"feature: differential privacy needs a clip on every number/date column {unbounded}"
        )
    continuous = sum(1 for f in spec.features if f.continuous)
    profile = 2.0 + 3.0 * continuous
    level = spec.width * (1.0 + 1.0 / 16.0)
    releases = profile + settings.rounds * settings.tree_depth * level
    return math.sqrt(releases / (2.0 * _rho(settings.dp_epsilon, settings.dp_delta)))


def noise_share(
    settings: RunSettings, spec: FeatureSpec, size: int, *, honest_members: int
) -> npt.NDArray[np.float64]:
    """One member's share of the noise: N(0, σ²/honest_members) per element, from OS entropy."""
    sigma = tree_sigma(settings, spec) / math.sqrt(honest_members)
    return np.random.default_rng().normal(0.0, sigma, size)

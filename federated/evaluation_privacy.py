"""Differential privacy of the federated evaluation: distributed Gaussian noise on the held-out sums.

With ``dp-epsilon`` > 0 every member adds, before masking, its share N(0, σₑ²/m) of the
noise to each element of its evaluation vector (``m``: its own ``[secagg] min_members``).
One held-out row adds at most 1 to one count bin (negatives or positives), its score
p ≤ 1 to one probability-sum bin, (p − y)² ≤ 1 to the squared error, its log loss
≤ ``LOG_LOSS_MAX`` to the log-loss sum (noised after dividing by ``LOG_LOSS_MAX``) and
1 to the row count: Δ₂² ≤ 5. A member scores at most ``rounds + 1`` models in a run
(:mod:`federated.releases`), so σₑ² = (rounds + 1)·Δ₂²/(2ρ) spends ρ over all
evaluations. Held-out rows are never training rows, so by parallel composition the
run's ε covers training and evaluation together (a record-level guarantee).
"""

from __future__ import annotations

import math

import numpy as np

from federated.metrics import LOG_LOSS_MAX
from federated.protocol import HISTOGRAM_BINS
from federated.settings import RunSettings
from federated.tree_privacy import zcdp_rho

__all__ = ["evaluation_sigma", "noisy_evaluation"]

_SENSITIVITY_SQUARED = 5.0
_LOG_LOSS_INDEX = 3 * HISTOGRAM_BINS + 1


def evaluation_sigma(settings: RunSettings) -> float:
    """σₑ of the summed noise on every (log-loss-scaled) element of the evaluation vector."""
    evaluations = settings.rounds + 1
    return math.sqrt(
        evaluations * _SENSITIVITY_SQUARED / (2.0 * zcdp_rho(settings.dp_epsilon, settings.dp_delta))
    )


def noisy_evaluation(settings: RunSettings, vector: np.ndarray, *, honest_members: int) -> np.ndarray:
    """``vector`` (a member's evaluation sums) plus its share of the noise, from OS entropy."""
    scale = np.ones(vector.size)
    scale[_LOG_LOSS_INDEX] = LOG_LOSS_MAX
    sigma = evaluation_sigma(settings) / math.sqrt(honest_members)
    return vector + scale * np.random.default_rng().normal(0.0, sigma, vector.size)

"""A logistic regression in numpy and each member's synthetic data (seeded by member id)."""

from __future__ import annotations

import hashlib

import numpy as np
import numpy.typing as npt

FEATURES = 6
TRUE_WEIGHTS = np.array([1.5, -2.0, 0.8, 0.0, 1.1, -0.6])
Floats = npt.NDArray[np.float64]


def member_data(member_id: str, rows: int = 400) -> tuple[Floats, Floats]:
    """Features and 0/1 labels for one member, shifted per member (non-IID)."""
    seed = int.from_bytes(hashlib.sha256(member_id.encode()).digest()[:4], "big")
    rng = np.random.default_rng(seed)
    shift = rng.normal(0.0, 0.5, FEATURES)
    x = rng.normal(shift, 1.0, (rows, FEATURES))
    y = (rng.random(rows) < 1.0 / (1.0 + np.exp(-(x @ TRUE_WEIGHTS)))).astype(np.float64)
    return x, y


def train(weights: Floats, x: Floats, y: Floats, *, steps: int, rate: float = 0.2) -> Floats:
    """Full-batch gradient descent on the logistic loss."""
    w = weights.copy()
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(x @ w)))
        w -= rate * (x.T @ (p - y)) / len(y)
    return w


def auc(weights: Floats, x: Floats, y: Floats) -> float:
    """Area under the ROC curve (rank statistic)."""
    scores = x @ weights
    order = np.argsort(scores)
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    positives = y == 1
    n_pos, n_neg = positives.sum(), (~positives).sum()
    return float((ranks[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))

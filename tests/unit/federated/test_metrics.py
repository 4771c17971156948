from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score, roc_curve

from federated.metrics import EvalSums, local_sums, quality


def scores(seed: int, n: int = 4000) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = (rng.random(n) < 0.22).astype(np.int64)
    logits = rng.normal(size=n) + 1.2 * labels - 1.3
    return 1 / (1 + np.exp(-logits)), labels


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_histogram_metrics_match_scikit_learn(seed: int) -> None:
    p, y = scores(seed)
    measured = quality(local_sums(p, y))
    fpr, tpr, _ = roc_curve(y, p)
    assert measured.auc == pytest.approx(roc_auc_score(y, p), abs=2e-3)
    assert measured.ks == pytest.approx(np.max(tpr - fpr), abs=1e-2)
    assert measured.brier == pytest.approx(brier_score_loss(y, p), rel=1e-9)
    assert measured.log_loss == pytest.approx(log_loss(y, p), rel=1e-6)
    assert measured.rows == p.size
    assert measured.default_rate == pytest.approx(y.mean())


def test_sums_of_members_give_the_pooled_metrics() -> None:
    p, y = scores(4)
    parts = [local_sums(p[i::3], y[i::3]) for i in range(3)]
    summed = EvalSums.from_vector(sum(part.to_vector() for part in parts))
    pooled = quality(local_sums(p, y))
    assert quality(summed).auc == pytest.approx(pooled.auc, abs=1e-12)
    assert quality(summed).brier == pytest.approx(pooled.brier, rel=1e-12)


def test_calibration_bins_report_mean_prediction_and_observed_rate() -> None:
    p = np.array([0.105] * 12 + [0.905] * 10 + [0.5])
    y = np.array([0] * 9 + [1] * 3 + [1] * 10 + [0])
    bins = {row["bin"]: row for row in quality(local_sums(p, y)).calibration}
    assert set(bins) == {10.0, 90.0}  # the one-row bin at 0.5 is not reported
    assert bins[10.0]["observed"] == pytest.approx(0.25)
    assert bins[10.0]["predicted"] == pytest.approx(0.105)
    assert bins[90.0]["observed"] == 1.0


def test_perfect_and_reversed_rankings() -> None:
    y = np.array([0, 0, 1, 1])
    assert quality(local_sums(np.array([0.1, 0.2, 0.8, 0.9]), y)).auc == 1.0
    assert quality(local_sums(np.array([0.9, 0.8, 0.2, 0.1]), y)).auc == 0.0
    assert quality(local_sums(np.array([0.9, 0.8, 0.2, 0.1]), y)).ks == 1.0

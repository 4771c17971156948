"""Model quality from score histograms: AUC, KS, Brier score and calibration.

Federated evaluation never sees a score: members send (masked) counts of scores by
bin and label, the sum of predicted probabilities by bin, the sum of squared errors
and the sum of log losses. From those sums this module computes:

* AUC — the Mann-Whitney statistic over bins, counting pairs inside one bin as ½
  (exact up to the bin width of 0.01);
* KS — the largest gap between the cumulative distributions of the two labels at bin edges;
* Brier score — the exact mean squared error Σ(p - y)² / n (sent as a sum, not
  estimated from bin midpoints);
* calibration — per bin, the mean predicted probability (Σp / count) and the observed
  default rate, plus the expected calibration error weighted by bin counts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from federated.protocol import HISTOGRAM_BINS

__all__ = ["MIN_REPORTED_BIN", "EvalSums", "Quality", "local_sums", "quality"]

#: Calibration bins holding fewer rows are left out of the reported table (they still count
#: in the ECE), so the card and results never single out a handful of borrowers.
MIN_REPORTED_BIN = 10

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class EvalSums:
    """Sums one member (or the federation, once added) computes on held-out rows."""

    negatives: FloatArray
    positives: FloatArray
    probability_sums: FloatArray
    squared_error: float
    log_loss: float
    rows: float

    def to_vector(self) -> FloatArray:
        """Return the protocol's evaluate layout (unscaled)."""
        return np.concatenate(
            [
                self.negatives,
                self.positives,
                self.probability_sums,
                [self.squared_error, self.log_loss, self.rows],
            ]
        )

    @classmethod
    def from_vector(cls, vector: FloatArray) -> EvalSums:
        """Parse the evaluate layout (unscaled); counts are rounded to whole rows."""
        b = HISTOGRAM_BINS
        return cls(
            np.maximum(np.rint(vector[:b]), 0.0),
            np.maximum(np.rint(vector[b : 2 * b]), 0.0),
            vector[2 * b : 3 * b].copy(),
            float(vector[3 * b]),
            float(vector[3 * b + 1]),
            float(np.rint(vector[3 * b + 2])),
        )


@dataclass(frozen=True)
class Quality:
    """Quality figures of one model on one set of held-out rows."""

    auc: float
    ks: float
    brier: float
    log_loss: float
    ece: float
    rows: int
    default_rate: float
    calibration: list[dict[str, float]]
    roc: list[tuple[float, float]]

    def summary(self) -> dict[str, float]:
        """Return the headline figures as a flat dict."""
        return {
            "auc": self.auc,
            "ks": self.ks,
            "brier": self.brier,
            "log_loss": self.log_loss,
            "ece": self.ece,
        }


def local_sums(probabilities: FloatArray, labels: npt.NDArray[np.int64]) -> EvalSums:
    """Compute the evaluation sums of scores ``probabilities`` against 0/1 ``labels``."""
    p = np.clip(np.asarray(probabilities, dtype=np.float64), 0.0, 1.0)
    y = np.asarray(labels, dtype=np.float64)
    bins = np.minimum((p * HISTOGRAM_BINS).astype(np.int64), HISTOGRAM_BINS - 1)
    negatives = np.bincount(bins[y == 0], minlength=HISTOGRAM_BINS).astype(np.float64)
    positives = np.bincount(bins[y == 1], minlength=HISTOGRAM_BINS).astype(np.float64)
    probability_sums = np.bincount(bins, weights=p, minlength=HISTOGRAM_BINS).astype(np.float64)
    eps = 1e-7
    clipped = np.clip(p, eps, 1 - eps)
    log_loss = float(-np.sum(y * np.log(clipped) + (1 - y) * np.log(1 - clipped)))
    return EvalSums(
        negatives, positives, probability_sums, float(np.sum((p - y) ** 2)), log_loss, float(p.size)
    )


def quality(sums: EvalSums) -> Quality:
    """Compute AUC, KS, Brier, log loss and calibration from (aggregated) sums."""
    neg, pos = sums.negatives, sums.positives
    total_neg, total_pos = float(neg.sum()), float(pos.sum())
    rows = total_neg + total_pos
    if total_neg == 0 or total_pos == 0:
        auc = ks = float("nan")
    else:
        negatives_below = np.concatenate([[0.0], np.cumsum(neg)[:-1]])
        auc = float(np.sum(pos * (negatives_below + 0.5 * neg)) / (total_pos * total_neg))
        ks = float(np.max(np.abs(np.cumsum(pos) / total_pos - np.cumsum(neg) / total_neg)))
    counts = neg + pos
    # ROC points (false, true positive rate) at every bin edge, highest scores first.
    fpr = np.concatenate([[0.0], np.cumsum(neg[::-1]) / max(total_neg, 1.0)])
    tpr = np.concatenate([[0.0], np.cumsum(pos[::-1]) / max(total_pos, 1.0)])
    calibration: list[dict[str, float]] = []
    ece = 0.0
    for index in np.flatnonzero(counts):
        predicted = float(sums.probability_sums[index] / counts[index])
        observed = float(pos[index] / counts[index])
        ece += counts[index] / rows * abs(predicted - observed)
        if counts[index] < MIN_REPORTED_BIN:
            continue
        calibration.append(
            {"bin": float(index), "count": float(counts[index]), "predicted": predicted, "observed": observed}
        )
    n = max(sums.rows, 1.0)
    return Quality(
        auc=auc,
        ks=ks,
        brier=sums.squared_error / n,
        log_loss=sums.log_loss / n,
        ece=float(ece),
        rows=int(rows),
        default_rate=total_pos / rows if rows else float("nan"),
        calibration=calibration,
        roc=[(float(f), float(t)) for f, t in zip(fpr, tpr, strict=True)],
    )

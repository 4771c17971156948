"""What the bureau reads from the federation's summed profile: row count, base rate, imputation, bin edges.

The ``profile`` phase sums, over members, ``[n, Σy]`` and per number/date column the
observed count, the sum of its encoded values and its DDSketch bucket counts
(:mod:`federated.sketch`: a grid for clipped columns, a DDSketch for the others). From
those sums alone the bureau derives the agreed
imputation (the mean or the median in encoded space) and, for trees, each model
input's bin edges (quantiles of the sketch; a 0/1 input has the one edge 0.5).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from federated.errors import FederatedRunError
from federated.features.spec import FeatureSpec
from federated.sketch import sketch_for

__all__ = ["Profile"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Profile:
    """The federation's aggregate view of the data (no member's own figure)."""

    rows: float
    positives: float
    imputation: FloatArray
    observed: dict[str, float]
    sketches: dict[str, FloatArray]

    @property
    def base_rate(self) -> float:
        """Share of positive labels over the federation's training rows."""
        return self.positives / self.rows

    @property
    def base_margin(self) -> float:
        """The log-odds of the base rate (the trees' starting point)."""
        rate = min(max(self.base_rate, 1e-6), 1 - 1e-6)
        return math.log(rate / (1 - rate))

    @classmethod
    def from_sums(cls, sums: FloatArray, spec: FeatureSpec) -> Profile:
        """Parse the summed profile vector.

        Raises
        ------
        FederatedRunError
            When the federation holds no rows, or a column that imputes has no observed value.

        """
        rows, positives = float(np.rint(sums[0])), float(np.rint(sums[1]))
        if rows <= 0:
            raise FederatedRunError("profile: the aggregate holds no training rows")
        imputation = np.full(len(spec.features), np.nan)
        observed: dict[str, float] = {}
        sketches: dict[str, FloatArray] = {}
        offset = 2
        for index, feature in enumerate(spec.features):
            if not feature.continuous:
                continue
            count, total = float(np.rint(sums[offset])), float(sums[offset + 1])
            sketch = sketch_for(feature.clip is not None)
            counts = np.asarray(sums[offset + 2 : offset + 2 + sketch.size])
            offset += 2 + sketch.size
            observed[feature.column], sketches[feature.column] = count, counts
            if feature.missing in ("mean", "median"):
                if count < 1:
                    raise FederatedRunError(
                        f"profile: column {feature.column!r} has no observed value to impute"
                    )
                imputation[index] = (
                    total / count if feature.missing == "mean" else sketch.quantiles(counts, [0.5])[0]
                )
        return cls(rows, positives, imputation, observed, sketches)

    def bin_edges(self, spec: FeatureSpec, bins: int) -> list[FloatArray]:
        """One edge array per model input: sketch quantiles, or 0.5 for 0/1 inputs."""
        edges: list[FloatArray] = []
        qs = [k / bins for k in range(1, bins)]
        for feature in spec.features:
            if feature.continuous:
                sketch = sketch_for(feature.clip is not None)
                values = np.asarray(sketch.quantiles(self.sketches[feature.column], qs))
                edges.append(np.unique(values[np.isfinite(values)]))
                if feature.has_indicator:
                    edges.append(np.array([0.5]))
            else:
                edges.extend(np.array([0.5]) for _ in range(feature.width))
        return edges

"""Federated quantile sketches: DDSketch bucket counts that add up under secure aggregation.

A DDSketch (Masson, Rim & Lee, VLDB 2019; the ``ddsketch`` package) puts a value ``x``
in the bucket ``⌈log_γ |x|⌉`` of its sign, with γ = (1 + α)/(1 − α), so any quantile
read from the counts is within a relative error α of a true one. Merging two sketches
is adding their counts bucket by bucket, which is exactly what SecAgg+ computes: each
member sends its counts over one fixed bucket range (:class:`SketchLayout`), the
bureau learns only their sum and reads quantiles from it with ``ddsketch`` itself.

Values of magnitude below ``min_magnitude`` count as zero, and above
``max_magnitude`` fall in the last bucket; continuous features with declared bounds
are encoded onto [-1, 1] (:mod:`federated.features.encoding`), far inside the range.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from ddsketch.ddsketch import BaseDDSketch
from ddsketch.mapping import LogarithmicMapping
from ddsketch.store import DenseStore

__all__ = ["SKETCH", "SketchLayout"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class SketchLayout:
    """The fixed bucket range every member's sketch is laid out on (identical everywhere)."""

    relative_accuracy: float = 0.01
    min_magnitude: float = 1e-4
    max_magnitude: float = 1e6

    @property
    def mapping(self) -> LogarithmicMapping:
        """The DDSketch index mapping."""
        return LogarithmicMapping(self.relative_accuracy)

    @property
    def key_range(self) -> tuple[int, int]:
        """Lowest and highest bucket key of each sign."""
        mapping = self.mapping
        return int(mapping.key(self.min_magnitude)), int(mapping.key(self.max_magnitude))

    @property
    def size(self) -> int:
        """Length of one feature's count vector: negative buckets, zero, positive buckets."""
        low, high = self.key_range
        return 2 * (high - low + 1) + 1

    def counts(self, values: FloatArray) -> FloatArray:
        """Return the count vector of ``values`` (NaN values are not counted)."""
        values = np.asarray(values, dtype=np.float64)
        values = values[~np.isnan(values)]
        low, high = self.key_range
        width = high - low + 1
        magnitude = np.abs(values)
        zero = magnitude < self.min_magnitude
        mapping = self.mapping
        keys = np.asarray(
            [mapping.key(v) for v in np.clip(magnitude[~zero], self.min_magnitude, None)], dtype=np.int64
        )
        keys = np.clip(keys, low, high) - low
        negative = values[~zero] < 0
        out = np.zeros(self.size)
        np.add.at(out, keys[negative], 1.0)
        out[width] = float(np.count_nonzero(zero))
        np.add.at(out, width + 1 + keys[~negative], 1.0)
        return out

    def quantiles(self, counts: FloatArray, qs: list[float]) -> list[float]:
        """Read quantiles from (summed) counts; rounding noise below half a row is dropped.

        Returns NaN for every quantile when the counts hold no value.
        """
        counts = np.maximum(np.rint(np.asarray(counts, dtype=np.float64)), 0.0)
        low, high = self.key_range
        width = high - low + 1
        if counts.sum() <= 0:
            return [float("nan")] * len(qs)
        mapping = self.mapping
        positive, negative = DenseStore(), DenseStore()
        for offset in np.flatnonzero(counts[:width]):
            negative.add(int(offset) + low, float(counts[offset]))
        for offset in np.flatnonzero(counts[width + 1 :]):
            positive.add(int(offset) + low, float(counts[width + 1 + offset]))
        sketch = BaseDDSketch(mapping, positive, negative, float(counts[width]))
        values = (sketch.get_quantile_value(q) for q in qs)
        return [float("nan") if v is None else float(v) for v in values]


SKETCH = SketchLayout()

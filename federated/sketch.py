"""Federated quantile sketches: bucket counts that add up under secure aggregation.

Two layouts, chosen per feature (:func:`sketch_for`):

* a bounded feature (one with ``clip``) is encoded onto [-1, 1], so its values are
  counted in :class:`GridLayout`'s equal-width buckets (2,048 of them, 0.001 wide);
* an unbounded one goes into a DDSketch (:class:`SketchLayout`).

A grid keeps the same resolution everywhere in [-1, 1], where a relative-error sketch is
coarse near ±1: a log-income encoded into [0.29, 0.58] got about 30 DDSketch buckets at
1 % accuracy, so the trees' quantile bins merged and the trees lost 0.005–0.01 AUC
against scikit-learn's 255 exact bins (``docs/benchmarks.md``).

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

__all__ = ["GRID", "SKETCH", "GridLayout", "SketchLayout", "sketch_for"]

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


@dataclass(frozen=True)
class GridLayout:
    """Equal-width buckets over [-1, 1] (a bounded feature's encoded range)."""

    buckets: int = 2048

    @property
    def size(self) -> int:
        """Length of one feature's count vector."""
        return self.buckets

    def counts(self, values: FloatArray) -> FloatArray:
        """Return the count vector of ``values`` (NaN values are not counted; ±1 fall in the ends)."""
        values = np.asarray(values, dtype=np.float64)
        values = values[~np.isnan(values)]
        index = np.clip(np.floor((values + 1.0) / 2.0 * self.buckets), 0, self.buckets - 1).astype(np.int64)
        return np.bincount(index, minlength=self.buckets).astype(np.float64)

    def quantiles(self, counts: FloatArray, qs: list[float]) -> list[float]:
        """Each quantile as the upper edge of the bucket it falls in (so edges sit between buckets).

        Returns NaN for every quantile when the counts hold no value.
        """
        counts = np.maximum(np.rint(np.asarray(counts, dtype=np.float64)), 0.0)
        total = counts.sum()
        if total <= 0:
            return [float("nan")] * len(qs)
        cumulative = np.cumsum(counts)
        upper = -1.0 + 2.0 * (np.arange(self.buckets) + 1) / self.buckets
        return [float(upper[min(int(np.searchsorted(cumulative, q * total)), self.buckets - 1)]) for q in qs]


GRID = GridLayout()


def sketch_for(bounded: bool) -> GridLayout | SketchLayout:
    """The layout of a feature's counts: the grid when its values are bounded (clipped), else DDSketch."""
    return GRID if bounded else SKETCH

"""From noisy measurements to published figures: unbiased, consistent, rounded (issue #13).

Three steps, each post-processing of differentially private measurements (no budget):

1. **Reconciliation.** A histogram's cells and its measured totals (margins) are independent
   unbiased measurements of linear functions of the true cell vector ``x``, with known noise
   variances. The generalised least-squares estimate

       x̂ = argmin Σ_m ‖y_m − A_m x‖² / v_m,   i.e.  (Σ A_mᵀA_m / v_m) x̂ = Σ A_mᵀ y_m / v_m

   is unbiased, has the smallest variance of any linear unbiased estimate (Gauss–Markov), and
   every published total is a sum of ``x̂`` — so a total equals the sum of its parts, and a
   suppressed part is inside the total it belongs to (the TopDown idea of the 2020 US Census,
   Abowd et al. 2022, without its non-negativity step, which biases small cells upwards).
2. **Rounding.** Published figures are integers rounded top-down: the grand total is rounded,
   then each level's figures are rounded so that they add up to their parent's rounded figure
   (largest remainder). Each figure moves by less than one; totals still equal their parts.
3. **Persons from buckets** (lenders per borrower): the holders count keeps keyed buckets, so two
   persons may share one. With ``N`` persons hashed uniformly into ``H`` buckets, a bucket's
   count is a compound Poisson sum, whose probability generating function is
   ``G(z) = exp(λ(F(z) − 1))`` for ``λ = N/H`` and ``F`` the persons' distribution. Hence
   ``λ F(z) = log G(z) + λ``: the coefficients of ``log G`` times ``H`` are the numbers of
   persons with 1, 2, … lenders, and ``−H log g₀`` is ``N``. :func:`persons_from_buckets`
   evaluates that power-series logarithm on the noisy bucket counts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from gateway.errors import InvalidInputError

__all__ = ["Measurement", "Reconciled", "controlled_round", "persons_from_buckets", "reconcile"]

Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Measurement:
    """``values`` = A·x + noise of variance ``variance``; ``A`` sums cell ``c`` into entry ``index[c]``."""

    index: Sequence[int] | None  # None: the cells themselves (A = I)
    values: Floats
    variance: float


@dataclass(frozen=True)
class Reconciled:
    """The GLS estimate of the cells, its covariance, and how it weighs each measured value.

    ``gain[i, j]`` is the weight of the ``j``-th measured value (all measurements stacked in
    order) in the estimate of cell ``i``: the estimate's error is ``gain @ noise``.
    """

    cells: Floats
    covariance: Floats
    gain: Floats

    def totals(self, index: Sequence[int], width: int) -> tuple[Floats, Floats]:
        """Estimates and standard errors of the totals that sum cells into ``width`` entries by ``index``."""
        matrix = _aggregation(index, width, self.cells.size)
        estimates = matrix @ self.cells
        variances = np.einsum("ij,jk,ik->i", matrix, self.covariance, matrix)
        return estimates, np.sqrt(np.maximum(variances, 0.0))

    @property
    def standard_errors(self) -> Floats:
        """Standard error of each cell's estimate."""
        return np.sqrt(np.maximum(np.diag(self.covariance), 0.0))


def reconcile(width: int, measurements: Sequence[Measurement]) -> Reconciled:
    """Generalised least squares over independent measurements of the ``width`` cells.

    Raises
    ------
    InvalidInputError
        When no measurement covers the cells themselves, a variance is not positive or a
        vector's length does not fit its index.

    """
    if not any(m.index is None for m in measurements):
        raise InvalidInputError("expected a measurement of the cells themselves", field="measurements")
    information = np.zeros((width, width))
    weighted = np.zeros(width)
    blocks: list[Floats] = []
    for measurement in measurements:
        if not measurement.variance > 0:
            raise InvalidInputError("expected a positive noise variance", field="variance")
        if measurement.index is None:
            matrix = np.eye(width)
        else:
            if len(measurement.index) != width:
                raise InvalidInputError(f"expected an index of {width} cells", field="index")
            matrix = _aggregation(measurement.index, measurement.values.size, width)
        if matrix.shape[0] != measurement.values.size:
            raise InvalidInputError("the values do not fit the index", field="values")
        information += matrix.T @ matrix / measurement.variance
        weighted += matrix.T @ measurement.values / measurement.variance
        blocks.append(matrix.T / measurement.variance)
    covariance: Floats = np.asarray(np.linalg.inv(information), dtype=np.float64)
    gain: Floats = np.asarray(covariance @ np.hstack(blocks), dtype=np.float64)
    return Reconciled(np.asarray(covariance @ weighted, dtype=np.float64), covariance, gain)


def controlled_round(levels: Sequence[tuple[Floats, Sequence[int] | None]]) -> list[npt.NDArray[np.int64]]:
    """Round a hierarchy top-down so that every rounded figure is the sum of its rounded parts.

    Parameters
    ----------
    levels
        ``(estimates, parent_index)`` from the coarsest level (one grand total, parent index
        ``None``) to the finest; ``parent_index[i]`` names the entry of the level above that
        entry ``i`` sums into. The estimates must already add up level to level.

    Returns
    -------
    list of int64 arrays
        The rounded figures of each level; each differs from its estimate by less than one, and
        each parent equals the sum of its children.

    """
    rounded: list[npt.NDArray[np.int64]] = []
    for number, (estimates, parents) in enumerate(levels):
        if number == 0 or parents is None:
            rounded.append(np.rint(estimates).astype(np.int64))
            continue
        above = rounded[-1]
        out = np.floor(estimates).astype(np.int64)
        for parent in range(above.size):
            members = [i for i, p in enumerate(parents) if p == parent]
            if not members:
                continue
            missing = int(above[parent] - out[members].sum())
            order = sorted(members, key=lambda i: estimates[i] - math.floor(estimates[i]), reverse=True)
            if missing >= 0:
                for i in order[:missing]:
                    out[i] += 1
            else:
                for i in list(reversed(order))[:-missing]:
                    out[i] -= 1
        rounded.append(out)
    return rounded


def persons_from_buckets(bucket_counts: Floats, buckets: int) -> tuple[Floats, float]:
    """Persons by number of holders (1 … len−1, then len or more) from buckets by holders count.

    Parameters
    ----------
    bucket_counts
        Noisy numbers of buckets whose count is 1, 2, …, and (last) at least ``len``.
    buckets
        ``H``, the number of buckets.

    Returns
    -------
    tuple
        The estimated persons per class (same length; the last class is "at least") and the
        estimated number of persons ``N``.

    """
    g = np.asarray(bucket_counts, dtype=np.float64) / buckets
    g0 = 1.0 - float(g.sum())
    if not 0 < g0 <= 1:
        raise InvalidInputError("bucket counts exceed the number of buckets", field="bucket_counts")
    exact = g.size - 1  # classes 1 … exact are single counts; the last holds every larger one
    logs = np.zeros(exact + 1)
    for k in range(1, exact + 1):
        # Coefficient k of log G, from G·(log G)' = G' (the power-series logarithm).
        convolution = sum(i * logs[i] * g[k - i - 1] for i in range(1, k))
        logs[k] = (g[k - 1] - convolution / k) / g0
    persons_total = -buckets * math.log(g0)
    single = buckets * logs[1:]
    out = np.append(single, persons_total - float(single.sum()))
    return out, persons_total


def _aggregation(index: Sequence[int], rows: int, width: int) -> Floats:
    matrix = np.zeros((rows, width))
    matrix[np.asarray(index), np.arange(width)] = 1.0
    return matrix

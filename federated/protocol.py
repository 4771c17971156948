"""What members send: fixed-layout float vectors that are only ever summed (SecAgg+).

No reply carries a per-member figure in clear (ARCHITECTURE §7). Every phase is a
TRAIN message whose reply is one float vector, masked by SecAgg+; the legacy
``num_examples`` is the constant 1 and the metrics are empty. The server only
learns the element-wise mean over the members that answered, multiplies it by
their number and gets sums:

``profile``     ``[n, Σy, then per number/date column: n_observed, Σx, sketch counts] / SCALE``
``stats-mean``  ``[n, Σx_1 … Σx_d] / SCALE``
``stats-var``   ``[Σ(x_1-μ_1)² … Σ(x_d-μ_d)²] / SCALE``
``train``       ``[n·(w_1-g_1) … n·(w_p-g_p), n] / SCALE  ++ [ε / EPSILON_SCALE]``
``evaluate``    ``[negatives (B bins), positives (B), Σp (B), Σ(p-y)², Σ log loss, n] / SCALE``
``tree-level``  ``[Σg (nodes × inputs × bins), Σh (nodes × inputs × bins)] / HIST_SCALE``

The server's instructions for a phase (the arrays listed in :mod:`federated.member`) travel
as one vector, :func:`pack`'s ``[k, n_1 … n_k, array_1 …, array_k]``: Flower moves every
array of a message as objects of its own, each one more fleet call per member through
the relay, so six arrays cost ten extra calls per member and stage.

``w`` is the member's locally trained weight vector, ``g`` the global one it
started from: FedAvg is ``g + Σ n·(w-g) / Σ n``. SecAgg+ clips each element to
``[-CLIPPING_RANGE, CLIPPING_RANGE]`` and quantises it to ``QUANTIZATION_RANGE``
levels, so a member refuses (:class:`SecAggRangeError`) to send a vector that
would be clipped rather than let a wrong sum through silently.
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np
import numpy.typing as npt

from federated.errors import SecAggRangeError

__all__ = [
    "CLIPPING_RANGE",
    "EPSILON_SCALE",
    "HISTOGRAM_BINS",
    "HIST_SCALE",
    "MAX_MEMBERS",
    "MODULUS_RANGE",
    "QUANTIZATION_RANGE",
    "RECONSTRUCTION_THRESHOLD",
    "SCALE",
    "Phase",
    "check_range",
    "pack",
    "sums_from_mean",
    "unpack",
]

Vector = npt.NDArray[np.float64]

#: Divisor applied to every sum a member contributes; a member may hold up to 8·SCALE rows.
SCALE = float(2**20)
#: Divisor of the tree phases' gradient/hessian histograms: |g| ≤ 1, so a member may hold up to
#: 8·HIST_SCALE = 131,072 rows, and SecAgg+'s quantisation step is 0.004 of a row's gradient.
HIST_SCALE = float(2**14)
#: Divisor of the ε a member reports in the train vector.
EPSILON_SCALE = 64.0
#: Score bins of the evaluation histograms.
HISTOGRAM_BINS = 100
#: SecAgg+ parameters. 2**26 levels over [-8, 8] give a step of 2.4e-7 (i.e. 0.25 of a row
#: after scaling); the 2**32 modulus then leaves room for sums over up to 64 members.
CLIPPING_RANGE = 8.0
QUANTIZATION_RANGE = 2**26
MODULUS_RANGE = 2**32
MAX_MEMBERS = MODULUS_RANGE // QUANTIZATION_RANGE
#: Share of a member's secret shares needed to rebuild its masks: more than half, so no minority
#: of members colluding with the server can unmask anyone; one of four members may drop.
RECONSTRUCTION_THRESHOLD = 0.66


class Phase(StrEnum):
    """What a TRAIN message asks a member to compute (config key ``phase``)."""

    PROFILE = "profile"
    STATS_MEAN = "stats-mean"
    STATS_VAR = "stats-var"
    TRAIN = "train"
    EVALUATE = "evaluate"
    TREE_LEVEL = "tree-level"

    @property
    def scale(self) -> float:
        """The divisor of this phase's sums."""
        return HIST_SCALE if self is Phase.TREE_LEVEL else SCALE


def check_range(vector: Vector, *, phase: Phase) -> Vector:
    """Return ``vector`` when every element fits SecAgg+'s clipping range.

    Raises
    ------
    SecAggRangeError
        When an element is not finite or exceeds ``CLIPPING_RANGE`` (it would be clipped).

    """
    if not np.all(np.isfinite(vector)) or np.any(np.abs(vector) > CLIPPING_RANGE):
        raise SecAggRangeError(
            f"{phase.value}: a value exceeds the SecAgg+ range ±{CLIPPING_RANGE} after scaling;"
            " declare a clip for the feature (its values are then scaled onto [-1, 1]), transform it"
            " (log1p) or lower the learning rate"
        )
    return vector


def sums_from_mean(mean: Vector, members: int, *, scale: float = SCALE) -> Vector:
    """Turn the aggregate SecAgg+ returns (the mean over members) back into unscaled sums."""
    return np.asarray(mean, dtype=np.float64) * members * scale


def pack(arrays: list[Vector]) -> Vector:
    """Concatenate ``arrays`` (each flattened, float64) into one vector that :func:`unpack` reverses."""
    flat = [np.asarray(a, dtype=np.float64).reshape(-1) for a in arrays]
    return np.concatenate([[float(len(flat))], [float(a.size) for a in flat], *flat])


def unpack(vector: Vector) -> list[Vector]:
    """Split a :func:`pack`-ed vector back into its arrays.

    Raises
    ------
    ValueError
        When the header does not describe the vector's length.

    """
    vector = np.asarray(vector, dtype=np.float64).reshape(-1)
    if vector.size < 1 or not float(vector[0]).is_integer() or not 0 <= vector[0] < vector.size:
        raise ValueError("packed arrays: malformed header")
    count = int(vector[0])
    sizes = vector[1 : 1 + count]
    if not all(float(s).is_integer() and s >= 0 for s in sizes) or 1 + count + sizes.sum() != vector.size:
        raise ValueError("packed arrays: the sizes do not add up to the vector's length")
    bounds = np.concatenate([[1 + count], 1 + count + np.cumsum(sizes)]).astype(np.int64)
    return [vector[bounds[i] : bounds[i + 1]] for i in range(count)]

"""A member's feature table: read columns (NaN = missing), labels and local row keys."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from federated.features.encoding import Imputation, encode
from federated.features.spec import FeatureSpec
from federated.features.values import ReadColumns

__all__ = ["RawTable", "stratified_split"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class RawTable:
    """Read column values of one member's rows; it never leaves the member.

    Attributes
    ----------
    columns
        Column name → values (float64, one per row; NaN where the cell was empty).
    labels
        Target values (0/1), one per row.
    keys
        Local row keys (account or loan references), used only for local score files.

    """

    columns: dict[str, FloatArray]
    labels: IntArray
    keys: tuple[str, ...]

    @classmethod
    def from_read(cls, read: ReadColumns) -> RawTable:
        """The accepted rows of a read."""
        return cls(read.columns, read.labels, read.keys)

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def matrix(self, spec: FeatureSpec, imputation: Imputation) -> npt.NDArray[np.float32]:
        """Return the model inputs for ``spec`` with missing cells imputed.

        Raises
        ------
        FeatureSpecError
            When the table lacks a column the spec declares.

        """
        return encode(spec, self.columns, imputation)

    def take(self, index: IntArray) -> RawTable:
        """Return the rows at ``index``."""
        return RawTable(
            {name: values[index] for name, values in self.columns.items()},
            self.labels[index],
            tuple(self.keys[i] for i in index.tolist()),
        )


def stratified_split(labels: IntArray, *, fraction: float, seed: int) -> tuple[IntArray, IntArray]:
    """Split row positions into (rest, held-out) with ``fraction`` of each label held out.

    Parameters
    ----------
    labels
        0/1 labels.
    fraction
        Share of each class held out (rounded to the nearest row).
    seed
        Seed of the shuffle, so every run holds out the same rows.

    Returns
    -------
    tuple of numpy.ndarray
        Sorted positions of the remaining and the held-out rows.

    """
    rng = np.random.default_rng(seed)
    held: list[IntArray] = []
    for label in (0, 1):
        positions = np.flatnonzero(labels == label)
        rng.shuffle(positions)
        held.append(positions[: round(fraction * positions.size)])
    out = np.sort(np.concatenate(held)).astype(np.int64)
    rest = np.setdiff1d(np.arange(labels.size, dtype=np.int64), out)
    return rest, out

"""From read columns to model inputs: clip, transform, scale, impute and indicate.

A continuous feature (number or date) is clipped to its declared bounds, transformed
(``log1p``, ``signed_log1p``) and, when it has bounds, scaled linearly onto
``[-1, 1]`` so that no member's sum of it can leave SecAgg+'s range whatever the
unit. A missing value (NaN) becomes the statistic the federation agreed for that
column (its mean or median in this encoded space, :class:`Imputation`) and sets the
column's ``:missing`` indicator input. A category becomes one 0/1 input per code; a
flag one 0/1 input.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from federated.errors import FeatureSpecError
from federated.features.spec import Feature, FeatureSpec

__all__ = ["Imputation", "continuous_values", "encode", "imputed_features"]

FloatArray = npt.NDArray[np.float64]
Imputation = Mapping[str, float]
"""Column → the agreed value (encoded space) that replaces a missing cell."""


def _transform(feature: Feature, values: FloatArray) -> FloatArray:
    if feature.transform == "log1p":
        return np.asarray(np.log1p(np.maximum(values, 0.0)), dtype=np.float64)
    if feature.transform == "signed_log1p":
        return np.asarray(np.sign(values) * np.log1p(np.abs(values)), dtype=np.float64)
    return values


def continuous_values(feature: Feature, raw: FloatArray) -> FloatArray:
    """Return a number/date column in encoded space; missing cells stay NaN."""
    values = np.asarray(raw, dtype=np.float64)
    if feature.clip is None:
        return _transform(feature, values)
    low, high = feature.clip
    bounds = _transform(feature, np.array([low, high]))
    center, half = (bounds[0] + bounds[1]) / 2.0, (bounds[1] - bounds[0]) / 2.0
    scaled: FloatArray = (_transform(feature, np.clip(values, low, high)) - center) / half
    return scaled


def imputed_features(spec: FeatureSpec) -> tuple[Feature, ...]:
    """The continuous features whose missing cells take an agreed statistic."""
    return tuple(f for f in spec.features if f.continuous and f.missing in ("mean", "median"))


def encode(
    spec: FeatureSpec, columns: Mapping[str, FloatArray], imputation: Imputation
) -> npt.NDArray[np.float32]:
    """Build the model input matrix (``len(rows) × spec.width``) from read columns.

    Raises
    ------
    FeatureSpecError
        When a column is absent, or a column that imputes has no agreed statistic.

    """
    absent = [c for c in spec.columns if c not in columns]
    if absent:
        raise FeatureSpecError(f"feature: the member's data lacks columns {absent}")
    blocks: list[FloatArray] = []
    for feature in spec.features:
        raw = np.asarray(columns[feature.column], dtype=np.float64)
        missing = np.isnan(raw)
        if feature.continuous:
            values = continuous_values(feature, raw)
            if feature.has_indicator:
                if feature.column not in imputation:
                    raise FeatureSpecError(f"feature {feature.column!r}: no agreed imputation value")
                values = np.where(missing, imputation[feature.column], values)
            block = values.reshape(-1, 1)
        elif feature.type == "flag":
            block = np.nan_to_num(raw, nan=0.0).reshape(-1, 1)
        else:
            codes = np.nan_to_num(raw, nan=-1.0)
            block = np.stack(
                [(codes == position).astype(np.float64) for position in range(len(feature.categories))],
                axis=1,
            )
        if feature.has_indicator:
            block = np.concatenate([block, missing.astype(np.float64).reshape(-1, 1)], axis=1)
        blocks.append(block)
    return np.concatenate(blocks, axis=1).astype(np.float32)

"""The feature spec: which columns a consortium trains on and how each is transformed.

A spec is a TOML file (see ``policies/features/uci-taiwan.toml``) with a ``[spec]``
table (``name``, ``version``, ``target``) and one ``[[feature]]`` table per column
(``column``, ``kind``, optional ``transform``, ``clip`` and, for categorical columns,
``categories``). Parsing is strict: an unknown key, kind or transform is refused
with a :class:`FeatureSpecError` naming the field.
"""

from __future__ import annotations

import hashlib
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt

from federated.errors import FeatureSpecError

__all__ = ["Feature", "FeatureSpec", "load_spec", "parse_spec"]

Kind = Literal["numeric", "ordinal", "categorical"]
Transform = Literal["none", "log1p", "signed_log1p"]
_KINDS: tuple[Kind, ...] = ("numeric", "ordinal", "categorical")
_TRANSFORMS: tuple[Transform, ...] = ("none", "log1p", "signed_log1p")
_FEATURE_KEYS = {"column", "kind", "transform", "clip", "categories"}
_SPEC_KEYS = {"name", "version", "target"}


@dataclass(frozen=True, slots=True)
class Feature:
    """One declared input column.

    Attributes
    ----------
    column
        Column name (UCI naming for the first spec).
    kind
        ``numeric``, ``ordinal`` (an ordered integer code) or ``categorical`` (one-hot).
    transform
        Applied after clipping: ``log1p`` (needs a non-negative value), ``signed_log1p``.
    clip
        ``(low, high)`` bounds applied to the raw value, or ``None``.
    categories
        Categorical codes, one model input each; other codes set none of them.

    """

    column: str
    kind: Kind
    transform: Transform = "none"
    clip: tuple[float, float] | None = None
    categories: tuple[int, ...] = ()

    @property
    def width(self) -> int:
        """Number of model inputs this feature produces."""
        return len(self.categories) if self.kind == "categorical" else 1

    def encode(self, raw: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Return the model inputs for raw column values, shape ``(len(raw), width)``."""
        if self.kind == "categorical":
            return np.stack([(raw == code).astype(np.float64) for code in self.categories], axis=1)
        values = raw.astype(np.float64)
        if self.clip is not None:
            values = np.clip(values, self.clip[0], self.clip[1])
        if self.transform == "log1p":
            values = np.log1p(np.maximum(values, 0.0))
        elif self.transform == "signed_log1p":
            values = np.sign(values) * np.log1p(np.abs(values))
        return values.reshape(-1, 1)


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    """A parsed, validated feature spec.

    Attributes
    ----------
    name, version
        Identify the spec; both are recorded with every trained model.
    target
        Label column (1 = defaulted).
    features
        Input columns in model order.
    digest
        SHA-256 (hex) of the spec file bytes, recorded in the model registry.

    """

    name: str
    version: int
    target: str
    features: tuple[Feature, ...]
    digest: str

    @property
    def columns(self) -> tuple[str, ...]:
        """Raw columns the spec reads, in order."""
        return tuple(f.column for f in self.features)

    @property
    def width(self) -> int:
        """Number of model inputs."""
        return sum(f.width for f in self.features)

    def input_names(self) -> list[str]:
        """Return one name per model input (``EDUCATION=2`` for one-hot columns)."""
        names: list[str] = []
        for f in self.features:
            names.extend([f"{f.column}={c}" for c in f.categories] if f.kind == "categorical" else [f.column])
        return names

    def encode(self, raw: Mapping[str, npt.NDArray[np.float64]]) -> npt.NDArray[np.float32]:
        """Build the (unnormalised) model input matrix from raw columns."""
        blocks = [f.encode(np.asarray(raw[f.column], dtype=np.float64)) for f in self.features]
        return np.concatenate(blocks, axis=1).astype(np.float32)


def load_spec(path: Path) -> FeatureSpec:
    """Read and validate a feature spec file.

    Raises
    ------
    FeatureSpecError
        When the file cannot be read or a field is malformed (the message names it).

    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FeatureSpecError(f"cannot read feature spec {path}") from exc
    return parse_spec(data)


def parse_spec(data: bytes) -> FeatureSpec:
    """Parse feature-spec TOML bytes.

    Raises
    ------
    FeatureSpecError
        When the TOML is invalid or a field is malformed (the message names it).

    """
    try:
        document = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise FeatureSpecError(f"feature spec is not valid UTF-8 TOML: {exc}") from None
    head = document.get("spec")
    if not isinstance(head, dict):
        raise FeatureSpecError("feature spec: expected a [spec] table")
    _no_unknown(head, _SPEC_KEYS, "spec")
    name = _string(head, "name", "spec.name")
    target = _string(head, "target", "spec.target")
    version = head.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise FeatureSpecError(f"spec.version: expected a positive integer, received {version!r}")
    extra = set(document) - {"spec", "feature"}
    if extra:
        raise FeatureSpecError(f"feature spec: unknown top-level keys {sorted(extra)}")
    raw_features = document.get("feature")
    if not isinstance(raw_features, list) or not raw_features:
        raise FeatureSpecError("feature: expected at least one [[feature]] table")
    features = tuple(_feature(item, index) for index, item in enumerate(raw_features))
    columns = [f.column for f in features]
    if len(set(columns)) != len(columns):
        raise FeatureSpecError("feature.column: each column may be declared once")
    if target in columns:
        raise FeatureSpecError(f"spec.target: {target!r} is also declared as a feature")
    return FeatureSpec(name, version, target, features, hashlib.sha256(data).hexdigest())


def _feature(item: object, index: int) -> Feature:
    where = f"feature[{index}]"
    if not isinstance(item, dict):
        raise FeatureSpecError(f"{where}: expected a table")
    _no_unknown(item, _FEATURE_KEYS, where)
    column = _string(item, "column", f"{where}.column")
    kind = item.get("kind")
    if kind not in _KINDS:
        raise FeatureSpecError(f"{where}.kind: expected one of {list(_KINDS)}, received {kind!r}")
    transform = item.get("transform", "none")
    if transform not in _TRANSFORMS:
        raise FeatureSpecError(
            f"{where}.transform: expected one of {list(_TRANSFORMS)}, received {transform!r}"
        )
    clip = _clip(item.get("clip"), f"{where}.clip")
    categories: tuple[int, ...] = ()
    if kind == "categorical":
        raw = item.get("categories")
        if (
            not isinstance(raw, list)
            or not raw
            or not all(isinstance(c, int) and not isinstance(c, bool) for c in raw)
            or len(set(raw)) != len(raw)
        ):
            raise FeatureSpecError(f"{where}.categories: expected a non-empty list of distinct integers")
        if transform != "none" or clip is not None:
            raise FeatureSpecError(f"{where}.transform: a categorical feature takes no transform or clip")
        categories = tuple(raw)
    elif "categories" in item:
        raise FeatureSpecError(f"{where}.categories: only categorical features list categories")
    if transform == "log1p" and (clip is None or clip[0] < 0):
        raise FeatureSpecError(f"{where}.clip: log1p needs a clip with a non-negative lower bound")
    return Feature(column, kind, transform, clip, categories)


def _clip(value: object, where: str) -> tuple[float, float] | None:
    if value is None:
        return None
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    ):
        raise FeatureSpecError(f"{where}: expected [low, high] numbers, received {value!r}")
    low, high = float(value[0]), float(value[1])
    if not (math.isfinite(low) and math.isfinite(high)) or low >= high:
        raise FeatureSpecError(f"{where}: expected finite low < high, received {value!r}")
    return low, high


def _string(table: dict[str, object], key: str, where: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value.strip():
        raise FeatureSpecError(f"{where}: expected a non-empty string, received {value!r}")
    return value


def _no_unknown(table: dict[str, object], allowed: set[str], where: str) -> None:
    unknown = set(table) - allowed
    if unknown:
        raise FeatureSpecError(f"{where}: unknown keys {sorted(unknown)}")

"""The feature spec: the model columns a consortium declares once, and how each is read and encoded.

A spec is a TOML file (``docs/federated-model.md`` documents every field; the shipped
examples are ``policies/features/uci-taiwan.toml`` and ``policies/features/credit-risk.toml``)::

    [spec]
    name = "credit-risk"          # recorded with every model
    version = 1
    target = "loan_status"        # the label column: 1/0, true/false, yes/no, y/n
    key = "loan_id"               # optional: the column naming a row (default: its row number)

    [[feature]]
    column = "person_income"
    type = "number"               # number | category | date | flag
    unit = "USD a year"           # optional, documentation (shown by `credgate features check`)
    clip = [0, 1000000]           # optional raw bounds; values outside are clipped
    transform = "log1p"           # optional: none | log1p | signed_log1p (number, date)
    missing = "median"            # refuse (default) | mean | median (number, date)
                                  # | indicator (category, flag)

Parsing is strict: an unknown key, type, transform or missing-value rule is refused
with a :class:`FeatureSpecError` naming the field (``feature[3].missing`` and the column).
"""

from __future__ import annotations

import hashlib
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from federated.errors import FeatureSpecError

__all__ = [
    "DEFAULT_FALSE",
    "DEFAULT_TRUE",
    "Feature",
    "FeatureSpec",
    "Missing",
    "Transform",
    "ValueType",
    "load_spec",
    "parse_spec",
]

ValueType = Literal["number", "category", "date", "flag"]
Transform = Literal["none", "log1p", "signed_log1p"]
Missing = Literal["refuse", "mean", "median", "indicator"]
Unknown = Literal["refuse", "ignore"]
_TYPES: tuple[ValueType, ...] = ("number", "category", "date", "flag")
_TRANSFORMS: tuple[Transform, ...] = ("none", "log1p", "signed_log1p")
_MISSING: dict[ValueType, tuple[Missing, ...]] = {
    "number": ("refuse", "mean", "median"),
    "date": ("refuse", "mean", "median"),
    "category": ("refuse", "indicator"),
    "flag": ("refuse", "indicator"),
}
_COMMON_KEYS = {"column", "type", "unit", "missing", "description"}
_TYPE_KEYS: dict[ValueType, set[str]] = {
    "number": {"clip", "transform"},
    "date": {"clip", "transform", "format"},
    "category": {"categories", "unknown"},
    "flag": {"true", "false"},
}
_SPEC_KEYS = {"name", "version", "target", "key", "description"}
#: Cell texts read as true / false for flags and the target when the spec names none.
DEFAULT_TRUE = ("1", "true", "yes", "y", "t")
DEFAULT_FALSE = ("0", "false", "no", "n", "f")


@dataclass(frozen=True, slots=True)
class Feature:
    """One declared model column.

    Attributes
    ----------
    column
        Column name in the member's data (the import maps the file's own names onto it).
    type
        ``number``, ``category`` (one model input per code), ``date`` (days before the
        run's reference date) or ``flag`` (0/1).
    unit
        Free text documenting the unit (``"CNY"``, ``"years"``); not used in computation.
    missing
        What an empty cell does: ``refuse`` it (the row is an error naming the column), or
        impute the federation's ``mean``/``median`` (numbers, dates) plus a 0/1 indicator
        input, or (categories, flags) set only an ``indicator`` input.
    clip
        Raw ``(low, high)`` bounds applied before the transform (numbers, dates).
    transform
        ``log1p`` (needs ``clip`` with low ≥ 0) or ``signed_log1p`` (numbers, dates).
    categories
        The code table of a category: the cell texts, one model input each.
    unknown
        A category cell outside the code table: ``refuse`` (default) or ``ignore`` (no input set).
    date_format
        ``strptime`` format of date cells (default ISO ``%Y-%m-%d``).
    true_values, false_values
        Cell texts of a flag (compared case-insensitively).

    """

    column: str
    type: ValueType
    unit: str = ""
    missing: Missing = "refuse"
    clip: tuple[float, float] | None = None
    transform: Transform = "none"
    categories: tuple[str, ...] = ()
    unknown: Unknown = "refuse"
    date_format: str = "%Y-%m-%d"
    true_values: tuple[str, ...] = DEFAULT_TRUE
    false_values: tuple[str, ...] = DEFAULT_FALSE

    @property
    def continuous(self) -> bool:
        """Whether the feature is a number or a date (one continuous model input)."""
        return self.type in ("number", "date")

    @property
    def has_indicator(self) -> bool:
        """Whether a missing-value indicator input follows the feature's inputs."""
        return self.missing != "refuse"

    @property
    def width(self) -> int:
        """Number of model inputs this feature produces."""
        base = len(self.categories) if self.type == "category" else 1
        return base + int(self.has_indicator)

    def input_names(self) -> list[str]:
        """Return one name per model input (``grade=B``, ``income:missing``)."""
        names = [f"{self.column}={c}" for c in self.categories] if self.type == "category" else [self.column]
        return [*names, f"{self.column}:missing"] if self.has_indicator else names


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    """A parsed, validated feature spec.

    Attributes
    ----------
    name, version
        Identify the spec; both are recorded with every trained model.
    target
        Label column (1 = defaulted).
    key
        Column naming each row, or ``None`` (rows are named by their number).
    features
        Input columns in model order.
    digest
        SHA-256 (hex) of the spec file bytes, recorded in the model registry.

    """

    name: str
    version: int
    target: str
    key: str | None
    features: tuple[Feature, ...]
    digest: str

    @property
    def columns(self) -> tuple[str, ...]:
        """Feature columns the spec reads, in order (the target and key not included)."""
        return tuple(f.column for f in self.features)

    @property
    def width(self) -> int:
        """Number of model inputs."""
        return sum(f.width for f in self.features)

    def input_names(self) -> list[str]:
        """Return one name per model input, in model order."""
        return [name for f in self.features for name in f.input_names()]

    def feature(self, column: str) -> Feature:
        """Return the feature declared for ``column``.

        Raises
        ------
        KeyError
            When the spec declares no such column.

        """
        for f in self.features:
            if f.column == column:
                return f
        raise KeyError(column)


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
    key = _string(head, "key", "spec.key") if "key" in head else None
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
    for special, where in ((target, "spec.target"), (key, "spec.key")):
        if special is not None and special in columns:
            raise FeatureSpecError(f"{where}: {special!r} is also declared as a feature")
    if key is not None and key == target:
        raise FeatureSpecError("spec.key: the key column cannot be the target")
    return FeatureSpec(name, version, target, key, features, hashlib.sha256(data).hexdigest())


def _feature(item: object, index: int) -> Feature:
    where = f"feature[{index}]"
    if not isinstance(item, dict):
        raise FeatureSpecError(f"{where}: expected a table")
    column = _string(item, "column", f"{where}.column")
    where = f"{where} ({column})"
    value_type = item.get("type")
    if value_type not in _TYPES:
        raise FeatureSpecError(f"{where}.type: expected one of {list(_TYPES)}, received {value_type!r}")
    _no_unknown(item, _COMMON_KEYS | _TYPE_KEYS[value_type], where)
    unit = item.get("unit", "")
    if not isinstance(unit, str):
        raise FeatureSpecError(f"{where}.unit: expected a string, received {unit!r}")
    missing = item.get("missing", "refuse")
    if missing not in _MISSING[value_type]:
        raise FeatureSpecError(
            f"{where}.missing: a {value_type} takes one of {list(_MISSING[value_type])}, received {missing!r}"
        )
    if value_type == "category":
        return Feature(
            column, "category", unit, missing, categories=_codes(item.get("categories"), where),
            unknown=_unknown(item.get("unknown", "refuse"), where),
        )  # fmt: skip
    if value_type == "flag":
        true_values = _texts(item.get("true", list(DEFAULT_TRUE)), f"{where}.true")
        false_values = _texts(item.get("false", list(DEFAULT_FALSE)), f"{where}.false")
        if {v.lower() for v in true_values} & {v.lower() for v in false_values}:
            raise FeatureSpecError(f"{where}.true: a text cannot be both true and false")
        return Feature(column, "flag", unit, missing, true_values=true_values, false_values=false_values)
    transform = item.get("transform", "none")
    if transform not in _TRANSFORMS:
        raise FeatureSpecError(
            f"{where}.transform: expected one of {list(_TRANSFORMS)}, received {transform!r}"
        )
    clip = _clip(item.get("clip"), f"{where}.clip")
    if transform == "log1p" and (clip is None or clip[0] < 0):
        raise FeatureSpecError(f"{where}.clip: log1p needs a clip with a non-negative lower bound")
    date_format = item.get("format", "%Y-%m-%d")
    if not isinstance(date_format, str) or "%" not in date_format:
        raise FeatureSpecError(f"{where}.format: expected a strptime format such as '%Y-%m-%d'")
    return Feature(
        column, "number" if value_type == "number" else "date", unit, missing, clip=clip,
        transform=transform, date_format=date_format,
    )  # fmt: skip


def _codes(raw: object, where: str) -> tuple[str, ...]:
    if (
        not isinstance(raw, list)
        or not raw
        or not all(isinstance(c, str | int) and not isinstance(c, bool) for c in raw)
    ):
        raise FeatureSpecError(
            f"{where}.categories: expected a non-empty list of codes (strings or integers)"
        )
    codes = tuple(str(c).strip() for c in raw)
    if len(set(codes)) != len(codes) or not all(codes):
        raise FeatureSpecError(f"{where}.categories: codes must be distinct and non-empty")
    return codes


def _unknown(value: object, where: str) -> Unknown:
    if value == "refuse":
        return "refuse"
    if value == "ignore":
        return "ignore"
    raise FeatureSpecError(f"{where}.unknown: expected 'refuse' or 'ignore', received {value!r}")


def _texts(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise FeatureSpecError(f"{where}: expected a non-empty list of cell texts")
    texts = tuple(str(v).strip() for v in value if isinstance(v, str | int) and not isinstance(v, bool))
    if len(texts) != len(value) or not all(texts):
        raise FeatureSpecError(f"{where}: expected a non-empty list of cell texts")
    return texts


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

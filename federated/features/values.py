"""Reading cells into model columns, one rule per declared type; the same rules everywhere.

The import (``credgate import features``), ``credgate features check``, a member's
training and evaluation, and ``credgate score`` all read cells through
:func:`read_cell`, so a value accepted by one is accepted by all. A cell becomes a
float: a number as written, a date as days before the reference date, a flag as
0/1, a category as its position in the code table (``-1`` for an ignored unknown
code), and a missing cell as NaN (its feature's missing-value rule decides later).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from federated.features.spec import DEFAULT_FALSE, DEFAULT_TRUE, Feature, FeatureSpec

__all__ = ["CellError", "ReadColumns", "read_cell", "read_columns", "read_target"]

FloatArray = npt.NDArray[np.float64]
#: Texts read as an empty (missing) cell.
MISSING_TEXTS = frozenset({"", "na", "n/a", "nan", "null", "none"})
IGNORED_CODE = -1.0


class CellError(ValueError):
    """A cell that its column's rule refuses; ``str()`` says why (never quotes the cell)."""


@dataclass(frozen=True)
class RowError:
    """Where a cell was refused: the row (key and 1-based number), the column and why."""

    row_number: int
    row_key: str
    column: str
    reason: str

    def __str__(self) -> str:
        return f"row {self.row_number} ({self.row_key}): column {self.column!r}: {self.reason}"


def is_missing(text: str | None) -> bool:
    """Whether a cell counts as empty."""
    return text is None or text.strip().lower() in MISSING_TEXTS


def read_cell(feature: Feature, text: str | None, *, as_of: dt.date) -> float:
    """Return the cell as a float (NaN when missing and the rule allows it).

    Raises
    ------
    CellError
        When the cell is missing under ``missing = "refuse"``, is not a number/date/flag,
        or is a category outside the code table under ``unknown = "refuse"``.

    """
    if is_missing(text):
        if feature.missing == "refuse":
            raise CellError("required value is missing (missing = 'refuse')")
        return math.nan
    assert text is not None  # is_missing covers None
    cell = text.strip()
    if feature.type == "number":
        return _number(cell)
    if feature.type == "date":
        try:
            day = dt.datetime.strptime(cell, feature.date_format).date()
        except ValueError:
            raise CellError(f"expected a date as {feature.date_format}") from None
        return float((as_of - day).days)
    if feature.type == "flag":
        return _flag(cell, feature.true_values, feature.false_values)
    code = _code(cell)
    for position, known in enumerate(feature.categories):
        if code == known:
            return float(position)
    if feature.unknown == "ignore":
        return IGNORED_CODE
    raise CellError(f"category not in the code table {list(feature.categories)}")


def read_target(text: str | None) -> int:
    """Return the 0/1 label of a target cell.

    Raises
    ------
    CellError
        When the cell is missing or not one of the flag spellings.

    """
    if is_missing(text):
        raise CellError("the target is missing")
    assert text is not None  # is_missing covers None
    return int(_flag(text.strip(), DEFAULT_TRUE, DEFAULT_FALSE))


@dataclass(frozen=True)
class ReadColumns:
    """Cells read into columns, the labels, row keys and every refused cell."""

    columns: dict[str, FloatArray]
    labels: npt.NDArray[np.int64]
    keys: tuple[str, ...]
    errors: tuple[RowError, ...]
    rows_read: int


def read_columns(
    spec: FeatureSpec,
    rows: Iterable[tuple[str, Mapping[str, str | None]]],
    *,
    as_of: dt.date,
    labelled: bool = True,
) -> ReadColumns:
    """Read rows (key, column → cell) into the spec's columns; refused rows are left out.

    A row with any refused cell is dropped from the result and every refused cell of it
    is listed in ``errors`` (row number, key, column and reason). ``labelled=False``
    (scoring) reads no target.
    """
    values: dict[str, list[float]] = {f.column: [] for f in spec.features}
    labels: list[int] = []
    keys: list[str] = []
    errors: list[RowError] = []
    count = 0
    for count, (key, row) in enumerate(rows, start=1):
        cells: list[float] = []
        refused: list[RowError] = []
        for feature in spec.features:
            try:
                cells.append(read_cell(feature, row.get(feature.column), as_of=as_of))
            except CellError as exc:
                refused.append(RowError(count, key, feature.column, str(exc)))
        label = 0
        if labelled:
            try:
                label = read_target(row.get(spec.target))
            except CellError as exc:
                refused.append(RowError(count, key, spec.target, str(exc)))
        if refused:
            errors.extend(refused)
            continue
        for feature, cell in zip(spec.features, cells, strict=True):
            values[feature.column].append(cell)
        labels.append(label)
        keys.append(key)
    return ReadColumns(
        {name: np.asarray(column, dtype=np.float64) for name, column in values.items()},
        np.asarray(labels, dtype=np.int64),
        tuple(keys),
        tuple(errors),
        count,
    )


def missing_columns(spec: FeatureSpec, header: Sequence[str], *, labelled: bool = True) -> list[str]:
    """Return the spec's columns (and target, when ``labelled``) absent from ``header``."""
    wanted = [*spec.columns, *([spec.target] if labelled else [])]
    present = set(header)
    return [column for column in wanted if column not in present]


def _number(cell: str) -> float:
    try:
        value = float(cell.replace(",", "").replace("_", ""))
    except ValueError:
        raise CellError("expected a number") from None
    if not math.isfinite(value):
        raise CellError("expected a finite number")
    return value


def _flag(cell: str, true_values: Sequence[str], false_values: Sequence[str]) -> float:
    lowered = _code(cell).lower()
    if lowered in {v.lower() for v in true_values}:
        return 1.0
    if lowered in {v.lower() for v in false_values}:
        return 0.0
    raise CellError(f"expected a flag: one of {[*true_values, *false_values]}")


def _code(cell: str) -> str:
    # "2.0" from a spreadsheet or a float column is the code "2".
    if cell.endswith(".0") and cell[:-2].lstrip("-").isdigit():
        return cell[:-2]
    return cell

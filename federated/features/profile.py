"""A local profile of a member's rows under a spec: what ``credgate features check`` prints.

Rows, and per column the missing cells, the range (numbers, dates), the codes seen
and the values outside the code table (categories), and every refused cell with its
row and column. It is computed and shown at the member only.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from dataclasses import dataclass, field

from federated.features.sources import Rows
from federated.features.spec import FeatureSpec
from federated.features.values import CellError, RowError, is_missing, missing_columns, read_cell, read_target

__all__ = ["ColumnProfile", "SpecProfile", "profile_rows"]


@dataclass
class ColumnProfile:
    """One column's profile."""

    column: str
    type: str
    unit: str
    missing: int = 0
    low: float = math.inf
    high: float = -math.inf
    seen: Counter[str] = field(default_factory=Counter)
    unknown: Counter[str] = field(default_factory=Counter)
    refused: int = 0


@dataclass(frozen=True)
class SpecProfile:
    """The profile of a source under a spec, and what is wrong with it."""

    spec: FeatureSpec
    where: str
    rows: int
    positives: int
    columns: list[ColumnProfile]
    absent: list[str]
    errors: list[RowError]

    @property
    def ok(self) -> bool:
        """Whether the member can train on the source as it is."""
        return not self.absent and not self.errors and self.rows > 0


def profile_rows(source: Rows, spec: FeatureSpec, *, as_of: dt.date, labelled: bool = True) -> SpecProfile:
    """Profile ``source`` under ``spec`` (all rows; nothing is sent anywhere)."""
    absent = missing_columns(spec, source.header, labelled=labelled)
    columns = [ColumnProfile(f.column, f.type, f.unit) for f in spec.features]
    errors: list[RowError] = []
    positives = 0
    for number, (key, cells) in enumerate(source.rows, start=1):
        for feature, profile in zip(spec.features, columns, strict=True):
            if feature.column in absent:
                continue
            text = cells.get(feature.column)
            if is_missing(text):
                profile.missing += 1
            try:
                value = read_cell(feature, text, as_of=as_of)
            except CellError as exc:
                profile.refused += 1
                errors.append(RowError(number, key, feature.column, str(exc)))
                if feature.type == "category" and not is_missing(text):
                    profile.unknown[str(text).strip()] += 1
                continue
            if math.isnan(value):
                continue
            if feature.type == "category":
                if value >= 0:
                    profile.seen[feature.categories[int(value)]] += 1
                else:
                    profile.unknown[str(text).strip()] += 1
            else:
                profile.low, profile.high = min(profile.low, value), max(profile.high, value)
        if labelled and spec.target not in absent:
            try:
                positives += read_target(cells.get(spec.target))
            except CellError as exc:
                errors.append(RowError(number, key, spec.target, str(exc)))
    return SpecProfile(spec, source.where, len(source.rows), positives, columns, absent, errors)

"""Column mapping files: which column of a member's file holds which canonical field.

A mapping is TOML::

    kind = "accounts"
    timezone = "Asia/Shanghai"        # optional; for timestamps without offset

    [columns]                         # canonical field = column in the file
    account_ref = "loan_no"
    borrower_ref = "cust_no"

    [defaults]                        # optional constants for unmapped or empty cells
    segment = "credit_card"

Everything is checked before a single row is read: an unknown field, a
missing required field or a column absent from the file stops the import with
:class:`~gateway.errors.ImportFileError` and nothing is written.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gateway.errors import ImportFileError
from gateway.ingest.fields import HISTORY_MONTHS, HISTORY_PARTS, KindSpec, kind_spec
from gateway.store.enums import ImportKind

DEFAULT_TIMEZONE = "Asia/Shanghai"


@dataclass(frozen=True)
class ColumnMapping:
    """A validated mapping for one kind.

    Attributes
    ----------
    source
        The mapping file, named in every error.
    spec
        The canonical fields of the kind (timestamps bound to ``zone``).
    columns
        Canonical field → column in the data file.
    defaults
        Canonical field → constant text used when the field is unmapped or its cell is empty.
    zone
        Time zone of timestamps written without an offset.

    """

    source: Path
    spec: KindSpec
    columns: Mapping[str, str]
    defaults: Mapping[str, str]
    zone: ZoneInfo

    def check_header(self, header: Sequence[str], data_file: Path) -> None:
        """Check that every mapped column exists in the data file's header.

        Raises
        ------
        ImportFileError
            Naming the mapping file, the field, the missing column and the data file.

        """
        present = set(header)
        for field, column in self.columns.items():
            if column not in present:
                raise ImportFileError(
                    f"{self.source}: field {field!r} is mapped to column {column!r}, "
                    f"which {data_file} does not have (its columns: {', '.join(header)})"
                )


def load_mapping(path: Path, *, kind: ImportKind) -> ColumnMapping:
    """Read and validate a mapping file for ``kind``.

    Parameters
    ----------
    path
        The TOML mapping file.
    kind
        The kind being imported; the file's ``kind`` must match it.

    Returns
    -------
    ColumnMapping
        The validated mapping.

    Raises
    ------
    ImportFileError
        When the file cannot be read or parsed, names another kind, maps an
        unknown field, leaves a required field without column or default, or
        names an unknown time zone.

    """
    raw = read_mapping_file(path, kind=kind)
    zone = _zone(path, raw.get("timezone", DEFAULT_TIMEZONE))
    spec = kind_spec(kind, zone=zone)
    columns = _string_table(path, raw, "columns", allow_scalars=False)
    defaults = _string_table(path, raw, "defaults", allow_scalars=True)
    unknown_keys = set(raw) - {"kind", "timezone", "columns", "defaults"}
    if unknown_keys:
        raise ImportFileError(f"{path}: unknown top-level key(s) {', '.join(sorted(unknown_keys))}")
    known = {field.name for field in spec.fields}
    for table, entries in (("columns", columns), ("defaults", defaults)):
        for name in entries:
            if name not in known:
                raise ImportFileError(
                    f"{path}: [{table}] names unknown field {name!r} for kind "
                    f"{kind.value!r}; expected one of {', '.join(sorted(known))}"
                )
    for field in spec.fields:
        if field.required and field.name not in columns and field.name not in defaults:
            raise ImportFileError(
                f"{path}: required field {field.name!r} has no column in [columns] and no value in [defaults]"
            )
    if kind is ImportKind.ACCOUNTS:
        _check_history_complete(path, columns)
    return ColumnMapping(source=path, spec=spec, columns=columns, defaults=defaults, zone=zone)


def read_mapping_file(path: Path, *, kind: ImportKind) -> dict[str, Any]:
    """The TOML table of a mapping file whose ``kind`` is ``kind``.

    Raises
    ------
    ImportFileError
        When the file cannot be read or parsed, or names another kind.

    """
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ImportFileError(f"cannot read mapping file {path}: {exc.strerror}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ImportFileError(f"mapping file {path} is not valid UTF-8 TOML: {exc}") from exc
    if raw.get("kind") != kind.value:
        raise ImportFileError(
            f"{path}: kind = {raw.get('kind')!r} but a {kind.value!r} file is being imported"
        )
    return raw


def _zone(path: Path, name: object) -> ZoneInfo:
    if not isinstance(name, str):
        raise ImportFileError(f"{path}: timezone must be a string such as {DEFAULT_TIMEZONE!r}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ImportFileError(f"{path}: unknown timezone {name!r}") from exc


def _string_table(path: Path, raw: Mapping[str, object], name: str, *, allow_scalars: bool) -> dict[str, str]:
    table = raw.get(name, {})
    if not isinstance(table, dict):
        raise ImportFileError(f"{path}: [{name}] must be a table")
    result: dict[str, str] = {}
    for key, value in table.items():
        if isinstance(value, str) and value.strip():
            result[key] = value.strip()
        elif allow_scalars and isinstance(value, bool):
            result[key] = "true" if value else "false"
        elif allow_scalars and isinstance(value, int | float):
            result[key] = str(value)
        else:
            raise ImportFileError(f"{path}: [{name}] {key} must be a non-empty string")
    return result


def _check_history_complete(path: Path, columns: Mapping[str, str]) -> None:
    for month in range(1, HISTORY_MONTHS + 1):
        mapped = [part for part in HISTORY_PARTS if f"{part}_m{month}" in columns]
        if mapped and len(mapped) != len(HISTORY_PARTS):
            missing = [f"{part}_m{month}" for part in HISTORY_PARTS if part not in mapped]
            raise ImportFileError(
                f"{path}: month {month} of the repayment history is partly mapped; "
                f"also map {', '.join(missing)}"
            )

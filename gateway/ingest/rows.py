"""Turn one raw row into a validated record, or say which field is wrong and why."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from gateway.errors import InvalidInputError
from gateway.ingest.fields import HISTORY_MONTHS, HISTORY_PARTS
from gateway.ingest.mapping import ColumnMapping
from gateway.ingest.readers import RawRow
from gateway.ingest.retention import RetentionPolicy
from gateway.store.enums import AppealState, ImportKind

MISSING = "required value is missing"


@dataclass(frozen=True)
class ParsedRow:
    """A row whose every field parsed and passed the cross-field checks.

    Attributes
    ----------
    row_number
        1-based data row number in the file.
    values
        Canonical field → typed value (``None`` for an empty optional field).
    raw
        The row as read, kept for the quarantine should a reference not resolve.

    """

    row_number: int
    values: dict[str, Any]
    raw: dict[str, str]


def parse_row(row: RawRow, mapping: ColumnMapping, retention: RetentionPolicy) -> ParsedRow:
    """Validate one row against the kind's canonical fields.

    Parameters
    ----------
    row
        The row as read from the file.
    mapping
        The validated column mapping (fields, columns, defaults, time zone).
    retention
        Supplies the default expiry of blacklist entries.

    Returns
    -------
    ParsedRow
        The typed values.

    Raises
    ------
    InvalidInputError
        For the first field that is missing or malformed; ``field`` names it and
        the message reads ``"<field>: <expected …>"``.

    """
    if row.problem is not None:
        raise InvalidInputError(row.problem, field="row")
    values: dict[str, Any] = {}
    for spec in mapping.spec.fields:
        column = mapping.columns.get(spec.name)
        cell = row.values.get(column, "").strip() if column is not None else ""
        if not cell:
            cell = mapping.defaults.get(spec.name, "")
        if not cell:
            if spec.required:
                raise InvalidInputError(MISSING, field=spec.name)
            values[spec.name] = None
            continue
        values[spec.name] = spec.parse(cell, spec.name)
    _check_and_complete(mapping.spec.kind, values, retention)
    return ParsedRow(row.row_number, values, row.values)


def _check_and_complete(kind: ImportKind, values: dict[str, Any], retention: RetentionPolicy) -> None:
    if kind is ImportKind.ACCOUNTS:
        _after("closed_on", values, "opened_on", strict=False)
        _after("entrustment_expires_on", values, "opened_on", strict=False)
        if values["entrustment_expires_on"] is not None and values["entrusted_by"] is None:
            raise InvalidInputError("set only together with entrusted_by", field="entrustment_expires_on")
        if values["defaulted"] is None:
            values["defaulted"] = False
        _check_history(values)
    elif kind is ImportKind.BLACKLIST:
        if values["expires_on"] is None:
            values["expires_on"] = retention.blacklist_expiry(values["listed_on"])
        _after("expires_on", values, "listed_on", strict=True)
        if values["appeal_state"] is None:
            values["appeal_state"] = AppealState.NONE
    elif kind is ImportKind.CONSENTS:
        _after("expires_on", values, "granted_on", strict=False)
        _after("revoked_on", values, "granted_on", strict=False)


def _after(field: str, values: Mapping[str, Any], earlier: str, *, strict: bool) -> None:
    later: dt.date | None = values[field]
    start: dt.date = values[earlier]
    if later is not None and (later < start or (strict and later == start)):
        relation = "after" if strict else "on or after"
        raise InvalidInputError(f"expected a date {relation} {earlier}", field=field)


def _check_history(values: Mapping[str, Any]) -> None:
    for month in range(1, HISTORY_MONTHS + 1):
        present = [values.get(f"{part}_m{month}") is not None for part in HISTORY_PARTS]
        if any(present) and not all(present):
            missing = next(part for part, here in zip(HISTORY_PARTS, present, strict=True) if not here)
            raise InvalidInputError(
                f"month {month} of the repayment history is incomplete", field=f"{missing}_m{month}"
            )


def history_rows(values: Mapping[str, Any], account_id: int) -> list[dict[str, Any]]:
    """Return the ``repayment_history`` rows of a parsed accounts row."""
    rows: list[dict[str, Any]] = []
    for month in range(1, HISTORY_MONTHS + 1):
        status = values.get(f"repayment_status_m{month}")
        if status is None:
            continue
        balance: Decimal = values[f"statement_balance_m{month}"]
        paid: Decimal = values[f"amount_paid_m{month}"]
        rows.append(
            {
                "account_id": account_id,
                "months_ago": month,
                "repayment_status": status,
                "statement_balance": balance,
                "amount_paid": paid,
            }
        )
    return rows


def table_row(
    kind: ImportKind, values: Mapping[str, Any], *, parent: tuple[str, str, int] | None, now: dt.datetime
) -> dict[str, Any]:
    """Return the column values to insert for a parsed row.

    Parameters
    ----------
    kind
        The import kind.
    values
        The parsed canonical values.
    parent
        ``(reference field, foreign-key column, resolved id)``: the reference to
        another record is replaced by that record's id.
    now
        Creation time recorded on borrowers.

    """
    row = {
        name: value
        for name, value in values.items()
        if not any(name.startswith(f"{part}_m") for part in HISTORY_PARTS)
    }
    if parent is not None:
        ref_field, column, parent_id = parent
        del row[ref_field]
        row[column] = parent_id
    if kind is ImportKind.BORROWERS:
        row["created_at"] = now
    return row

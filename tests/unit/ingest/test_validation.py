"""Each validation rule sends the row to the quarantine with the field and the reason."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from gateway.ingest import ImportKind
from gateway.store import Store
from gateway.store.models import Account
from gateway.store.repositories import CreditRecords, ImportLedger

from .conftest import ImportRows
from .samples import SAMPLES, account, borrower, resident_id


def _bad_check_character() -> str:
    valid = resident_id(7)
    return valid[:-1] + ("1" if valid[-1] != "1" else "2")


CASES = [
    (
        "borrowers",
        "resident_id",
        _bad_check_character(),
        "resident_id: check character does not match (GB 11643 MOD 11-2)",
    ),
    ("borrowers", "resident_id", "12345", "resident_id: expected 18 characters"),
    (
        "borrowers",
        "resident_id",
        "110101199002300012",
        "resident_id: birth date 19900230 is not a calendar date",
    ),
    ("borrowers", "mobile", "12800000000", "mobile: expected an 11-digit mainland mobile number"),
    ("borrowers", "name", "", "name: required value is missing"),
    ("borrowers", "name", "名" * 101, "name: expected at most 100 characters"),
    ("borrowers", "gender", "m", "gender: expected one of male, female"),
    ("borrowers", "education", "phd", "education: expected one of graduate"),
    ("borrowers", "marital_status", "divorced", "marital_status: expected one of married"),
    ("accounts", "outstanding", "-1", "outstanding: expected an amount ≥ 0"),
    ("accounts", "credit_limit", "12.345", "credit_limit: expected at most 2 decimal places"),
    ("accounts", "principal", "abc", "principal: expected a decimal amount"),
    ("accounts", "principal", "12.3.4", "principal: expected a decimal amount"),
    ("accounts", "principal", "1234,50", "principal: expected a decimal amount such as 1234.50; commas"),
    ("accounts", "principal", "1e-3", "principal: expected at most 2 decimal places"),
    ("accounts", "days_past_due", "-3", "days_past_due: expected a whole number from 0"),
    ("accounts", "days_past_due", "1.5", "days_past_due: expected a whole number"),
    ("accounts", "opened_on", "2023/01/15", "opened_on: expected a date as yyyy-mm-dd"),
    ("accounts", "opened_on", "2023-02-30", "opened_on: expected a calendar date"),
    ("accounts", "closed_on", "2022-12-31", "closed_on: expected a date on or after opened_on"),
    ("accounts", "segment", "mortgage", "segment: expected one of bank, consumer_finance"),
    ("accounts", "status", "open", "status: expected one of active, closed"),
    ("accounts", "defaulted", "maybe", "defaulted: expected 0, 1, true or false"),
    (
        "accounts",
        "borrower_ref",
        "B404",
        "borrower_ref: no borrowers record with this reference in the store",
    ),
    ("accounts", "repayment_status_m1", "10", "repayment_status_m1: expected a whole number from -2 to 9"),
    ("accounts", "amount_paid_m1", "-5", "amount_paid_m1: expected an amount ≥ 0"),
    ("accounts", "statement_balance_m2", "", "statement_balance_m2: month 2 of the repayment history"),
    ("accounts", "entrustment_expires_on", "2025-01-01", "entrustment_expires_on: set only together"),
    ("applications", "applied_at", "yesterday", "applied_at: expected an ISO 8601 timestamp"),
    ("applications", "applied_at", "2024-13-01T00:00:00", "applied_at: expected a calendar date"),
    ("applications", "amount_requested", "-100", "amount_requested: expected an amount ≥ 0"),
    ("applications", "decision", "maybe", "decision: expected one of approved, declined, pending"),
    ("applications", "borrower_ref", "B404", "borrower_ref: no borrowers record"),
    ("contacts", "account_ref", "A404", "account_ref: no accounts record with this reference"),
    ("contacts", "contact_number", "010-12345678", "contact_number: expected an 11-digit"),
    ("contacts", "channel", "email", "channel: expected one of phone, sms, ai_voice"),
    ("contacts", "connected", "", "connected: required value is missing"),
    ("blacklist", "reason", "late", "reason: expected one of fraud, identity_theft"),
    ("blacklist", "expires_on", "2024-03-01", "expires_on: expected a date after listed_on"),
    ("blacklist", "appeal_state", "won", "appeal_state: expected one of none, pending"),
    ("consents", "purpose", "marketing", "purpose: expected one of post_loan_management"),
    ("consents", "expires_on", "2023-12-31", "expires_on: expected a date on or after granted_on"),
    ("consents", "revoked_on", "2023-06-01", "revoked_on: expected a date on or after granted_on"),
]


def _prepare_parents(import_rows: ImportRows, kind: str) -> None:
    if kind != "borrowers":
        assert import_rows("borrowers", [borrower(1)]).rows_imported == 1
    if kind == "contacts":
        assert import_rows("accounts", [account(1)]).rows_imported == 1


@pytest.mark.parametrize("kind", list(SAMPLES))
def test_valid_sample_row_of_each_kind_imports(import_rows: ImportRows, store: Store, kind: str) -> None:
    # Prepare
    _prepare_parents(import_rows, kind)

    # Execute
    summary = import_rows(kind, [SAMPLES[kind]()])

    # Assert
    assert (summary.rows_read, summary.rows_imported, summary.rows_quarantined) == (1, 1, 0)
    assert CreditRecords(store).count(ImportKind(kind)) == 1


@pytest.mark.parametrize(
    ("kind", "field", "value", "reason"),
    CASES,
    ids=[f"{kind}-{field}-{value[:12]}" for kind, field, value, _ in CASES],
)
def test_invalid_value_is_quarantined_with_field_and_reason(
    import_rows: ImportRows,
    store: Store,
    kind: str,
    field: str,
    value: str,
    reason: str,
) -> None:
    # Prepare
    _prepare_parents(import_rows, kind)
    row = SAMPLES[kind](9)
    row[field] = value
    if field == "entrustment_expires_on":
        row["entrusted_by"] = ""

    # Execute
    summary = import_rows(kind, [row])

    # Assert
    assert (summary.rows_read, summary.rows_imported, summary.rows_quarantined) == (1, 0, 1)
    [record] = ImportLedger(store).quarantined(file_sha256=summary.file_sha256)
    assert record.field == field
    assert record.reason.startswith(reason), record.reason
    assert record.raw_row[field] == value
    assert record.row_number == 1
    assert CreditRecords(store).count(ImportKind(kind)) == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5.00E+05", Decimal("500000.00")),
        ("1,234.5", Decimal("1234.50")),
        ("0", Decimal("0.00")),
        ("  42 ", Decimal("42.00")),
        (".5", Decimal("0.50")),
    ],
)
def test_amount_notations_are_accepted(
    import_rows: ImportRows, store: Store, text: str, expected: Decimal
) -> None:
    # Prepare
    _prepare_parents(import_rows, "accounts")

    # Execute
    summary = import_rows("accounts", [account(1) | {"credit_limit": text}])

    # Assert
    assert summary.rows_imported == 1
    with store.transaction() as session:
        assert session.scalars(sa.select(Account.credit_limit)).one() == expected

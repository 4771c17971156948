"""Canonical fields of each import kind: names, parsers and whether they are required.

A mapping file maps these canonical names to the columns of a member's file;
the names are the store's column names except for references to other records
(``borrower_ref``, ``account_ref``), which the importer resolves to ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from gateway.ingest import parsers as p
from gateway.store.enums import (
    AccountStatus,
    AppealState,
    BlacklistReason,
    ContactChannel,
    Decision,
    Education,
    Gender,
    ImportKind,
    MaritalStatus,
    ReasonCode,
    Segment,
)
from gateway.store.models import (
    Account,
    Application,
    Base,
    BlacklistEntry,
    Borrower,
    Consent,
    ContactAttempt,
)

HISTORY_MONTHS = 6
"""Months of repayment history an accounts file may carry (UCI layout: m1 = latest)."""

HISTORY_PARTS = ("repayment_status", "statement_balance", "amount_paid")

_BORROWER_PARENT = ("borrower_ref", ImportKind.BORROWERS, "borrower_id")


@dataclass(frozen=True)
class FieldSpec:
    """One canonical field of an import kind.

    Attributes
    ----------
    name
        Canonical name used in mapping files and quarantine reasons.
    parse
        Cell parser (see :mod:`gateway.ingest.parsers`).
    required
        Whether every row must have a value (from its column or a default).

    """

    name: str
    parse: p.Parser
    required: bool = True


@dataclass(frozen=True)
class KindSpec:
    """Everything the importer needs to know about one kind.

    Attributes
    ----------
    kind
        The import kind.
    fields
        Canonical fields, in documentation order.
    ref_field
        The field that identifies a record (duplicates are detected on it).
    parent
        ``(field, parent kind, foreign-key column)`` when rows refer to another record.

    """

    kind: ImportKind
    fields: tuple[FieldSpec, ...]
    ref_field: str
    parent: tuple[str, ImportKind, str] | None

    def field(self, name: str) -> FieldSpec | None:
        """Return the field called ``name``, or ``None``."""
        return next((spec for spec in self.fields if spec.name == name), None)


def _text(model: type[Base], column: str) -> p.Parser:
    column_type = model.__table__.c[column].type
    length = column_type.length if isinstance(column_type, sa.String) else None
    return p.text(length or 1000)


def _history_fields() -> tuple[FieldSpec, ...]:
    parsers: dict[str, p.Parser] = {
        "repayment_status": p.integer(-2, 9),
        "statement_balance": p.money(allow_negative=True),
        "amount_paid": p.money(),
    }
    return tuple(
        FieldSpec(f"{part}_m{month}", parsers[part], required=False)
        for month in range(1, HISTORY_MONTHS + 1)
        for part in HISTORY_PARTS
    )


def kind_spec(kind: ImportKind, *, zone: ZoneInfo) -> KindSpec:
    """Return the canonical fields of ``kind``; naive timestamps are read in ``zone``."""
    amount = p.money()
    days = p.integer(0, 100_000)
    stamp = p.timestamp(zone)
    ref = _text(Borrower, "borrower_ref")
    if kind is ImportKind.BORROWERS:
        fields: tuple[FieldSpec, ...] = (
            FieldSpec("borrower_ref", ref),
            FieldSpec("resident_id", p.resident_id),
            FieldSpec("name", _text(Borrower, "name")),
            FieldSpec("mobile", p.mobile),
            FieldSpec("address", _text(Borrower, "address")),
            FieldSpec("province", _text(Borrower, "province")),
            FieldSpec("gender", p.choice(Gender), required=False),
            FieldSpec("education", p.choice(Education), required=False),
            FieldSpec("marital_status", p.choice(MaritalStatus), required=False),
        )
        return KindSpec(kind, fields, "borrower_ref", None)
    if kind is ImportKind.ACCOUNTS:
        fields = (
            FieldSpec("account_ref", _text(Account, "account_ref")),
            FieldSpec("borrower_ref", ref),
            FieldSpec("segment", p.choice(Segment)),
            FieldSpec("product", _text(Account, "product")),
            FieldSpec("credit_limit", amount),
            FieldSpec("principal", amount),
            FieldSpec("outstanding", amount),
            FieldSpec("days_past_due", days),
            FieldSpec("status", p.choice(AccountStatus)),
            FieldSpec("opened_on", p.date),
            FieldSpec("closed_on", p.date, required=False),
            FieldSpec("defaulted", p.boolean, required=False),
            FieldSpec("entrusted_by", _text(Account, "entrusted_by"), required=False),
            FieldSpec("entrustment_expires_on", p.date, required=False),
            *_history_fields(),
        )
        return KindSpec(kind, fields, "account_ref", _BORROWER_PARENT)
    if kind is ImportKind.APPLICATIONS:
        fields = (
            FieldSpec("application_ref", _text(Application, "application_ref")),
            FieldSpec("borrower_ref", ref),
            FieldSpec("applied_at", stamp),
            FieldSpec("segment", p.choice(Segment)),
            FieldSpec("amount_requested", amount),
            FieldSpec("decision", p.choice(Decision)),
        )
        return KindSpec(kind, fields, "application_ref", _BORROWER_PARENT)
    if kind is ImportKind.CONTACTS:
        fields = (
            FieldSpec("contact_ref", _text(ContactAttempt, "contact_ref")),
            FieldSpec("account_ref", _text(Account, "account_ref")),
            FieldSpec("attempted_at", stamp),
            FieldSpec("channel", p.choice(ContactChannel)),
            FieldSpec("contact_number", p.mobile, required=False),
            FieldSpec("connected", p.boolean),
            FieldSpec("agency_member_id", _text(ContactAttempt, "agency_member_id"), required=False),
            FieldSpec("outcome", _text(ContactAttempt, "outcome"), required=False),
        )
        return KindSpec(kind, fields, "contact_ref", ("account_ref", ImportKind.ACCOUNTS, "account_id"))
    if kind is ImportKind.BLACKLIST:
        fields = (
            FieldSpec("entry_ref", _text(BlacklistEntry, "entry_ref")),
            FieldSpec("borrower_ref", ref),
            FieldSpec("reason", p.choice(BlacklistReason)),
            FieldSpec("evidence_ref", _text(BlacklistEntry, "evidence_ref")),
            FieldSpec("listed_on", p.date),
            FieldSpec("expires_on", p.date, required=False),
            FieldSpec("appeal_state", p.choice(AppealState), required=False),
        )
        return KindSpec(kind, fields, "entry_ref", _BORROWER_PARENT)
    fields = (
        FieldSpec("consent_ref", _text(Consent, "consent_ref")),
        FieldSpec("borrower_ref", ref),
        FieldSpec("purpose", p.choice(ReasonCode)),
        FieldSpec("counterparty_scope", _text(Consent, "counterparty_scope")),
        FieldSpec("granted_on", p.date),
        FieldSpec("expires_on", p.date),
        FieldSpec("revoked_on", p.date, required=False),
    )
    return KindSpec(kind, fields, "consent_ref", _BORROWER_PARENT)

"""Canonical records of the six import kinds, rendered as canonical field → text.

Records name people and accounts by index and object; the member's
:class:`~gateway.synth.refs.RefBook` turns them into its own references when
the record is rendered. Timestamps are Asia/Shanghai local times.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from gateway.synth.accounts import Account
from gateway.synth.people import Person
from gateway.synth.refs import RefBook

#: Asia/Shanghai has kept UTC+8 without daylight saving since 1991, so a fixed offset is exact.
SHANGHAI = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")


class Record(Protocol):
    """Anything the writer can render into one CSV row."""

    def fields(self, book: RefBook, *, naive: bool) -> dict[str, str]:
        """Return canonical field → text; optional fields may be empty strings."""
        ...


def _date(value: dt.date | None) -> str:
    return "" if value is None else value.isoformat()


def _stamp(value: dt.datetime, *, naive: bool) -> str:
    local = value.astimezone(SHANGHAI)
    return local.strftime("%Y-%m-%dT%H:%M:%S") if naive else local.isoformat()


@dataclass(frozen=True, slots=True)
class BorrowerRecord:
    """A person as one member's customer."""

    person: Person

    def fields(self, book: RefBook, *, naive: bool) -> dict[str, str]:
        """Return the borrower's canonical fields under the member's customer number."""
        p = self.person
        return {
            "borrower_ref": book.borrower(p.index),
            "resident_id": p.resident_id,
            "name": p.name,
            "mobile": p.mobile,
            "address": p.address,
            "province": p.region.province,
            "gender": p.gender,
            "education": p.education,
            "marital_status": p.marital_status,
        }


@dataclass(frozen=True, slots=True)
class AccountRecord:
    """An account as it appears in its member's file."""

    account: Account

    def fields(self, book: RefBook, *, naive: bool) -> dict[str, str]:
        """Return the account's canonical fields, monthly history included."""
        a = self.account
        row = {
            "account_ref": book.account(a),
            "borrower_ref": book.borrower(a.person_index),
            "segment": a.segment,
            "product": a.product,
            "credit_limit": str(a.row.limit_bal),
            "principal": str(a.principal),
            "outstanding": str(a.outstanding),
            "days_past_due": str(a.days_past_due),
            "status": a.status,
            "opened_on": _date(a.opened_on),
            "closed_on": _date(a.closed_on),
            "defaulted": str(a.row.defaulted),
            "entrusted_by": a.entrusted_by or "",
            "entrustment_expires_on": _date(a.entrustment_expires_on),
        }
        for month in range(6):
            row[f"repayment_status_m{month + 1}"] = str(a.row.pay[month])
            row[f"statement_balance_m{month + 1}"] = str(a.row.bill[month])
            row[f"amount_paid_m{month + 1}"] = str(a.row.paid[month])
        return row


@dataclass(frozen=True, slots=True)
class ApplicationRecord:
    """A loan or card application received by a lender."""

    application_ref: str
    person_index: int
    applied_at: dt.datetime
    segment: str
    amount_requested: int
    decision: str

    def fields(self, book: RefBook, *, naive: bool) -> dict[str, str]:
        """Return the application's canonical fields."""
        return {
            "application_ref": self.application_ref,
            "borrower_ref": book.borrower(self.person_index),
            "applied_at": _stamp(self.applied_at, naive=naive),
            "segment": self.segment,
            "amount_requested": str(self.amount_requested),
            "decision": self.decision,
        }


@dataclass(frozen=True, slots=True)
class ContactRecord:
    """One collection contact attempt on an account."""

    contact_ref: str
    account: Account
    attempted_at: dt.datetime
    channel: str
    contact_number: str
    connected: bool
    agency_member_id: str
    outcome: str

    def fields(self, book: RefBook, *, naive: bool) -> dict[str, str]:
        """Return the attempt's canonical fields."""
        return {
            "contact_ref": self.contact_ref,
            "account_ref": book.account(self.account),
            "attempted_at": _stamp(self.attempted_at, naive=naive),
            "channel": self.channel,
            "contact_number": self.contact_number,
            "connected": "1" if self.connected else "0",
            "agency_member_id": self.agency_member_id,
            "outcome": self.outcome,
        }


@dataclass(frozen=True, slots=True)
class BlacklistRecord:
    """A blacklist listing contributed by a member."""

    entry_ref: str
    person_index: int
    reason: str
    evidence_ref: str
    listed_on: dt.date
    expires_on: dt.date
    appeal_state: str

    def fields(self, book: RefBook, *, naive: bool) -> dict[str, str]:
        """Return the listing's canonical fields."""
        return {
            "entry_ref": self.entry_ref,
            "borrower_ref": book.borrower(self.person_index),
            "reason": self.reason,
            "evidence_ref": self.evidence_ref,
            "listed_on": _date(self.listed_on),
            "expires_on": _date(self.expires_on),
            "appeal_state": self.appeal_state,
        }


@dataclass(frozen=True, slots=True)
class ConsentRecord:
    """A borrower's consent to consortium queries for one purpose."""

    consent_ref: str
    person_index: int
    purpose: str
    granted_on: dt.date
    expires_on: dt.date
    revoked_on: dt.date | None = None
    counterparty_scope: str = "consortium"

    def fields(self, book: RefBook, *, naive: bool) -> dict[str, str]:
        """Return the consent's canonical fields."""
        return {
            "consent_ref": self.consent_ref,
            "borrower_ref": book.borrower(self.person_index),
            "purpose": self.purpose,
            "counterparty_scope": self.counterparty_scope,
            "granted_on": _date(self.granted_on),
            "expires_on": _date(self.expires_on),
            "revoked_on": _date(self.revoked_on),
        }

"""The querier's own record of every check it made (token, time, reason, consent reference)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa

from gateway.store.database import Store
from gateway.store.enums import ReasonCode
from gateway.store.models import Inquiry


@dataclass(frozen=True)
class InquiryRow:
    """One answered check, recorded by the querier."""

    query_id: str
    token: bytes
    key_epoch: int
    reason: ReasonCode
    consent_ref: str
    queried_at: dt.datetime


def record_inquiries(store: Store, rows: Iterable[InquiryRow]) -> int:
    """Append the querier's inquiry records; return how many were written."""
    values = [
        {
            "query_id": row.query_id,
            "subject_token": row.token,
            "token_key_epoch": row.key_epoch,
            "reason_code": row.reason,
            "consent_ref": row.consent_ref,
            "queried_at": row.queried_at,
        }
        for row in rows
    ]
    if values:
        with store.transaction() as session:
            session.execute(sa.insert(Inquiry), values)
    return len(values)

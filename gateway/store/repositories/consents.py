"""What a querier's own records say about its standing to check a subject."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from gateway.store.database import Store
from gateway.store.enums import ReasonCode
from gateway.store.models import Account, Borrower, Consent

_IN_BATCH = 900


@dataclass(frozen=True)
class Standing:
    """Whether the subject's consent covers the purpose today, and whether an account is entrusted to us."""

    consent_valid: bool
    entrusted: bool


def standings(
    store: Store, requests: Sequence[tuple[str, str]], *, reason: ReasonCode, today: dt.date
) -> list[Standing]:
    """Standing for each ``(normalised resident ID, consent reference)``, in order.

    A consent counts when it exists under that reference for a borrower with that
    ID, names this purpose, and is granted, unexpired and not revoked today.
    """
    refs = sorted({ref for _, ref in requests})
    valid: set[tuple[str, str]] = set()
    entrusted: set[str] = set()
    with store.transaction() as session:
        for start in range(0, len(refs), _IN_BATCH):
            query = (
                sa.select(Borrower.resident_id, Consent.consent_ref)
                .join(Consent, Consent.borrower_id == Borrower.id)
                .where(
                    Consent.consent_ref.in_(refs[start : start + _IN_BATCH]),
                    Consent.purpose == reason,
                    Consent.granted_on <= today,
                    Consent.expires_on >= today,
                    sa.or_(Consent.revoked_on.is_(None), Consent.revoked_on > today),
                )
            )
            valid.update((row.resident_id, row.consent_ref) for row in session.execute(query))
        ids = sorted({resident_id for resident_id, _ in requests})
        for start in range(0, len(ids), _IN_BATCH):
            entrusted_query = (
                sa.select(Borrower.resident_id)
                .join(Account, Account.borrower_id == Borrower.id)
                .where(
                    Borrower.resident_id.in_(ids[start : start + _IN_BATCH]),
                    Account.entrusted_by.is_not(None),
                    Account.entrustment_expires_on >= today,
                )
            )
            entrusted.update(session.scalars(entrusted_query))
    return [Standing((resident_id, ref) in valid, resident_id in entrusted) for resident_id, ref in requests]


def valid_consents(store: Store, reason: ReasonCode, *, today: dt.date) -> list[tuple[str, str]]:
    """``(resident_id, consent_ref)`` of every consent for ``reason`` valid on ``today``, by reference."""
    with store.transaction() as session:
        rows = session.execute(
            sa.select(Borrower.resident_id, Consent.consent_ref)
            .join(Consent, Consent.borrower_id == Borrower.id)
            .where(
                Consent.purpose == reason,
                Consent.granted_on <= today,
                Consent.expires_on >= today,
                sa.or_(Consent.revoked_on.is_(None), Consent.revoked_on > today),
            )
            .order_by(Consent.consent_ref)
        ).all()
    return [(row.resident_id, row.consent_ref) for row in rows]

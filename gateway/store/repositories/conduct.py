"""Conduct screening results kept at the node (``conduct_screenings``, ``conduct_flags``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from gateway.errors import NotFoundError
from gateway.store.database import Store
from gateway.store.enums import ConductSource
from gateway.store.models import Account, ConductFlagRecord, ConductScreening, ContactAttempt

__all__ = ["ConductRepository", "StoredFlag"]


@dataclass(frozen=True)
class StoredFlag:
    """A flag as kept, with its screening's source and the debtor it concerns (local id)."""

    source_ref: str
    source_kind: ConductSource
    rule: str
    utterance_index: int
    span_start: int
    span_end: int
    excerpt: str
    screened_at: dt.datetime
    borrower_id: int | None


class ConductRepository:
    """Repository over the conduct tables."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def account(self, account_ref: str) -> tuple[int, int]:
        """``(account_id, borrower_id)`` of an account.

        Raises
        ------
        NotFoundError
            When the account is not held here.

        """
        with self._store.transaction() as session:
            row = session.execute(
                sa.select(Account.id, Account.borrower_id).where(Account.account_ref == account_ref)
            ).first()
        if row is None:
            raise NotFoundError(f"account_ref: no account {account_ref!r} at this member")
        return int(row[0]), int(row[1])

    def connected_calls(self, borrower_id: int, start: dt.datetime, until: dt.datetime) -> int:
        """Connected calls this node recorded to the debtor in ``[start, until]``."""
        query = (
            sa.select(sa.func.count())
            .select_from(ContactAttempt)
            .join(Account, Account.id == ContactAttempt.account_id)
            .where(
                Account.borrower_id == borrower_id,
                ContactAttempt.connected.is_(True),
                ContactAttempt.attempted_at >= start,
                ContactAttempt.attempted_at <= until,
            )
        )
        with self._store.transaction() as session:
            return int(session.scalar(query) or 0)

    def save(
        self,
        *,
        source_ref: str,
        kind: ConductSource,
        account_id: int | None,
        occurred_at: dt.datetime | None,
        screened_at: dt.datetime,
        utterances: int,
        flags: Sequence[tuple[str, int, int, int, str]],
    ) -> bool:
        """Keep a screening and its flags; False (nothing written) when it was screened before."""
        with self._store.transaction() as session:
            seen = session.scalar(
                sa.select(ConductScreening.id).where(
                    ConductScreening.source_ref == source_ref, ConductScreening.source_kind == kind
                )
            )
            if seen is not None:
                return False
            screening = ConductScreening(
                source_ref=source_ref,
                source_kind=kind,
                account_id=account_id,
                occurred_at=occurred_at,
                screened_at=screened_at,
                utterances=utterances,
                flagged=len(flags),
            )
            session.add(screening)
            session.flush()
            for rule, index, start, end, excerpt in flags:
                session.add(
                    ConductFlagRecord(
                        screening_id=screening.id,
                        rule=rule,
                        utterance_index=index,
                        span_start=start,
                        span_end=end,
                        excerpt=excerpt[:400],
                    )
                )
        return True

    def flags(self, start: dt.datetime | None = None, end: dt.datetime | None = None) -> list[StoredFlag]:
        """Flags of screenings made in ``[start, end)`` (all when not given), oldest first."""
        query = (
            sa.select(
                ConductScreening.source_ref,
                ConductScreening.source_kind,
                ConductFlagRecord.rule,
                ConductFlagRecord.utterance_index,
                ConductFlagRecord.span_start,
                ConductFlagRecord.span_end,
                ConductFlagRecord.excerpt,
                ConductScreening.screened_at,
                Account.borrower_id,
            )
            .join(ConductScreening, ConductScreening.id == ConductFlagRecord.screening_id)
            .outerjoin(Account, Account.id == ConductScreening.account_id)
            .order_by(ConductFlagRecord.id)
        )
        if start is not None:
            query = query.where(ConductScreening.screened_at >= start)
        if end is not None:
            query = query.where(ConductScreening.screened_at < end)
        with self._store.transaction() as session:
            return [StoredFlag(*row) for row in session.execute(query)]

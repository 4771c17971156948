"""A member's subject tokens: which of its borrowers a token names."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

import sqlalchemy as sa

from gateway.store.database import Store
from gateway.store.enums import TokenType
from gateway.store.models import Borrower, SubjectTokenRecord

# SQLite allows 32,766 bound parameters; stay well below for IN lists.
_IN_BATCH = 900


class SubjectTokens:
    """Repository over ``subject_tokens``.

    Parameters
    ----------
    store
        The member's store.

    """

    def __init__(self, store: Store) -> None:
        self._store = store

    def untokenised(self, kind: TokenType, epoch: int, *, limit: int) -> list[tuple[int, str]]:
        """Borrowers without a token of ``kind`` under ``epoch``: ``(borrower_id, resident_id)``.

        The resident ID is returned for blinding on this node only; it is never sent anywhere.
        """
        have = sa.select(SubjectTokenRecord.borrower_id).where(
            SubjectTokenRecord.token_kind == kind, SubjectTokenRecord.key_epoch == epoch
        )
        query = (
            sa.select(Borrower.id, Borrower.resident_id)
            .where(Borrower.id.not_in(have))
            .order_by(Borrower.id)
            .limit(limit)
        )
        with self._store.transaction() as session:
            return [(row.id, row.resident_id) for row in session.execute(query)]

    def save(
        self, kind: TokenType, epoch: int, tokens: Iterable[tuple[int, bytes]], *, at: dt.datetime
    ) -> int:
        """Store ``(borrower_id, token)`` pairs; return how many were written."""
        rows = [
            {
                "borrower_id": borrower_id,
                "token_kind": kind,
                "key_epoch": epoch,
                "token": token,
                "created_at": at,
            }
            for borrower_id, token in tokens
        ]
        if rows:
            with self._store.transaction() as session:
                session.execute(sa.insert(SubjectTokenRecord), rows)
        return len(rows)

    def borrowers_by_token(self, kind: TokenType, epoch: int, tokens: Sequence[bytes]) -> dict[int, bytes]:
        """Map every local borrower named by one of ``tokens`` to that token."""
        found: dict[int, bytes] = {}
        with self._store.transaction() as session:
            for start in range(0, len(tokens), _IN_BATCH):
                query = sa.select(SubjectTokenRecord.token, SubjectTokenRecord.borrower_id).where(
                    SubjectTokenRecord.token_kind == kind,
                    SubjectTokenRecord.key_epoch == epoch,
                    SubjectTokenRecord.token.in_(tokens[start : start + _IN_BATCH]),
                )
                found.update({row.borrower_id: row.token for row in session.execute(query)})
        return found

    def tokens_by_resident_id(
        self, kind: TokenType, epoch: int, resident_ids: Sequence[str]
    ) -> dict[str, bytes]:
        """This member's stored tokens for any of ``resident_ids`` (normalised) under ``epoch``."""
        wanted = sorted(set(resident_ids))
        found: dict[str, bytes] = {}
        with self._store.transaction() as session:
            for start in range(0, len(wanted), _IN_BATCH):
                query = (
                    sa.select(Borrower.resident_id, SubjectTokenRecord.token)
                    .join(SubjectTokenRecord, SubjectTokenRecord.borrower_id == Borrower.id)
                    .where(
                        SubjectTokenRecord.token_kind == kind,
                        SubjectTokenRecord.key_epoch == epoch,
                        Borrower.resident_id.in_(wanted[start : start + _IN_BATCH]),
                    )
                )
                found.update({row.resident_id: row.token for row in session.execute(query)})
        return found

    def tokens_of_borrowers(self, kind: TokenType, epoch: int, borrower_ids: Sequence[int]) -> set[bytes]:
        """The distinct tokens of ``borrower_ids`` under ``epoch`` (two records of one person share one)."""
        wanted = sorted(set(borrower_ids))
        found: set[bytes] = set()
        with self._store.transaction() as session:
            for start in range(0, len(wanted), _IN_BATCH):
                query = sa.select(SubjectTokenRecord.token).where(
                    SubjectTokenRecord.token_kind == kind,
                    SubjectTokenRecord.key_epoch == epoch,
                    SubjectTokenRecord.borrower_id.in_(wanted[start : start + _IN_BATCH]),
                )
                found.update(session.scalars(query))
        return found

    def token_by_borrower(self, kind: TokenType, epoch: int) -> dict[int, bytes]:
        """Every local borrower's token under ``epoch``: two records of one person share one."""
        query = sa.select(SubjectTokenRecord.borrower_id, SubjectTokenRecord.token).where(
            SubjectTokenRecord.token_kind == kind, SubjectTokenRecord.key_epoch == epoch
        )
        with self._store.transaction() as session:
            return {row.borrower_id: row.token for row in session.execute(query)}

    def latest_epoch(self, kind: TokenType) -> int:
        """The newest key epoch this member holds tokens under (0 when none)."""
        query = sa.select(sa.func.max(SubjectTokenRecord.key_epoch)).where(
            SubjectTokenRecord.token_kind == kind
        )
        with self._store.transaction() as session:
            return int(session.scalar(query) or 0)

    def count(self, kind: TokenType, epoch: int) -> int:
        """Number of borrowers tokenised under ``epoch``."""
        query = sa.select(sa.func.count()).where(
            SubjectTokenRecord.token_kind == kind, SubjectTokenRecord.key_epoch == epoch
        )
        with self._store.transaction() as session:
            return int(session.scalar(query) or 0)

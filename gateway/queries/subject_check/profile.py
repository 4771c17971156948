"""A member's own figures about a batch of tokens, as rows of the vector layout.

This runs inside the answering member, on its own store; the rows are masked
before they leave (``responder.py``). Only lenders' own accounts count as debt:
an agency holds copies of accounts entrusted to it, which would count twice.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVarTuple

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa
from sqlalchemy.orm import QueryableAttribute

from gateway.queries.subject_check.layout import BLACKLIST_REASONS, AnswerSegment, VectorLayout
from gateway.queries.subject_check.settings import SubjectCheckSettings
from gateway.roles import Role
from gateway.store.database import Store
from gateway.store.enums import AccountStatus, TokenType
from gateway.store.models import Account, Application, BlacklistEntry, ContactAttempt, Inquiry
from gateway.store.repositories.blacklist import live_condition
from gateway.store.repositories.tokens import SubjectTokens

_IN_BATCH = 900
Rows = npt.NDArray[np.int64]
Ts = TypeVarTuple("Ts")


@dataclass(frozen=True)
class ProfileQuery:
    """What a member is asked about: tokens under one key epoch, at the bureau's query time."""

    tokens: Sequence[bytes]
    key_epoch: int
    query_time: dt.datetime
    segment_map: Mapping[AnswerSegment, AnswerSegment]


class SubjectProfiler:
    """Computes one member's rows for a batch of tokens.

    Parameters
    ----------
    store
        The member's own store.
    role
        The member's certificate role (decides its segment and whether it lends).
    settings
        The subject-check policy.

    """

    def __init__(self, store: Store, *, role: Role, settings: SubjectCheckSettings) -> None:
        self._store = store
        self._role = role
        self._settings = settings
        self.layout = VectorLayout.from_settings(settings)

    def rows(self, query: ProfileQuery) -> Rows:
        """One row per token (zeros for tokens this member knows nothing about).

        A token repeated in the batch (a subject screened twice) gets the same row each time.
        """
        unique = list(dict.fromkeys(query.tokens))
        position = {token: index for index, token in enumerate(unique)}
        rows = np.zeros((len(unique), self.layout.width), dtype=np.int64)
        borrowers = SubjectTokens(self._store).borrowers_by_token(
            TokenType.RESIDENT_ID, query.key_epoch, unique
        )
        by_borrower = {borrower: position[token] for borrower, token in borrowers.items()}
        segment = query.segment_map.get(AnswerSegment.of_role(self._role), AnswerSegment.OTHER)
        local = query.query_time.astimezone(self._settings.zone)
        for index in by_borrower.values():
            rows[index, VectorLayout.HOLDERS] = 1
        with self._store.transaction():
            if self._role.is_lender:
                self._debt(rows, by_borrower)
                self._applications(rows, by_borrower, segment, query.query_time)
            self._blacklist(rows, by_borrower, local.date())
            self._contacts_today(rows, by_borrower, local)
            self._inquiries(rows, position, query, segment)
        return rows[[position[token] for token in query.tokens]]

    def _debt(self, rows: Rows, by_borrower: Mapping[int, int]) -> None:
        outstanding: dict[int, Decimal] = defaultdict(Decimal)
        worst_dpd: dict[int, int] = {}
        query = sa.select(Account.borrower_id, Account.outstanding, Account.days_past_due).where(
            Account.status == AccountStatus.ACTIVE, Account.entrusted_by.is_(None)
        )
        # Per subject, not per local record: a person with two customer numbers is one lender's debt.
        for row in self._select_for(query, Account.borrower_id, by_borrower):
            index = by_borrower[row.borrower_id]
            outstanding[index] += row.outstanding
            worst_dpd[index] = max(worst_dpd.get(index, 0), row.days_past_due)
        buckets = self._settings
        for index, total in outstanding.items():
            rows[index, self.layout.outstanding_offset + buckets.outstanding_buckets.index(float(total))] = 1
            rows[index, self.layout.dpd_offset + buckets.dpd_buckets.index(worst_dpd[index])] = 1

    def _applications(
        self, rows: Rows, by_borrower: Mapping[int, int], segment: AnswerSegment, now: dt.datetime
    ) -> None:
        since = now - dt.timedelta(days=max(self.layout.window_days))
        query = sa.select(Application.borrower_id, Application.applied_at).where(
            Application.applied_at >= since
        )
        for row in self._select_for(query, Application.borrower_id, by_borrower):
            self._count_in_windows(
                rows,
                by_borrower[row.borrower_id],
                self.layout.applications_offset,
                segment,
                now - row.applied_at,
            )

    def _inquiries(
        self, rows: Rows, position: Mapping[bytes, int], query: ProfileQuery, segment: AnswerSegment
    ) -> None:
        since = query.query_time - dt.timedelta(days=max(self.layout.window_days))
        latest: dict[int, dt.datetime] = {}
        select = sa.select(Inquiry.subject_token, Inquiry.queried_at).where(
            Inquiry.token_key_epoch == query.key_epoch,
            Inquiry.queried_at >= since,
            Inquiry.queried_at <= query.query_time,
        )
        tokens = list(position)
        with self._store.transaction() as session:
            for start in range(0, len(tokens), _IN_BATCH):
                chunk = select.where(Inquiry.subject_token.in_(tokens[start : start + _IN_BATCH]))
                for row in session.execute(chunk):
                    index = position[row.subject_token]
                    latest[index] = max(latest.get(index, row.queried_at), row.queried_at)
        # An institution counts once per window however often it asked.
        for index, queried_at in latest.items():
            self._count_in_windows(
                rows, index, self.layout.inquiries_offset, segment, query.query_time - queried_at
            )

    def _blacklist(self, rows: Rows, by_borrower: Mapping[int, int], today: dt.date) -> None:
        query = sa.select(BlacklistEntry.borrower_id, BlacklistEntry.reason).where(live_condition(today))
        for row in self._select_for(query, BlacklistEntry.borrower_id, by_borrower):
            rows[
                by_borrower[row.borrower_id],
                self.layout.blacklist_offset + BLACKLIST_REASONS.index(row.reason),
            ] += 1

    def _contacts_today(self, rows: Rows, by_borrower: Mapping[int, int], local_now: dt.datetime) -> None:
        start = local_now.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(dt.UTC)
        query = (
            sa.select(Account.borrower_id)
            .join(ContactAttempt, ContactAttempt.account_id == Account.id)
            .where(
                ContactAttempt.connected.is_(True),
                ContactAttempt.attempted_at >= start,
                ContactAttempt.attempted_at <= local_now.astimezone(dt.UTC),
            )
        )
        for row in self._select_for(query, Account.borrower_id, by_borrower):
            rows[by_borrower[row.borrower_id], self.layout.contacts_offset] += 1

    def _count_in_windows(
        self, rows: Rows, index: int, offset: int, segment: AnswerSegment, age: dt.timedelta
    ) -> None:
        for window_index, days in enumerate(self.layout.window_days):
            if dt.timedelta(0) <= age <= dt.timedelta(days=days):
                rows[index, self.layout.segment_window_slot(offset, segment, window_index)] += 1

    def _select_for(
        self,
        query: sa.Select[*Ts],
        column: QueryableAttribute[int],
        by_borrower: Mapping[int, int],
    ) -> list[sa.Row[*Ts]]:
        ids = list(by_borrower)
        found: list[sa.Row[*Ts]] = []
        with self._store.transaction() as session:
            for start in range(0, len(ids), _IN_BATCH):
                found.extend(session.execute(query.where(column.in_(ids[start : start + _IN_BATCH]))))
        return found

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
from typing import Any, TypeVarTuple

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa
from sqlalchemy.orm import Session

from gateway.queries.subject_check.layout import BLACKLIST_REASONS, AnswerSegment, VectorLayout
from gateway.queries.subject_check.settings import SubjectCheckSettings
from gateway.roles import Role
from gateway.store.database import Store
from gateway.store.enums import AccountStatus, TokenType
from gateway.store.models import (
    Account,
    Application,
    BlacklistEntry,
    ContactAttempt,
    Inquiry,
    SubjectTokenRecord,
)
from gateway.store.repositories.blacklist import live_condition

_IN_BATCH = 900
Rows = npt.NDArray[np.int64]
_IDS: sa.BindParameter[Any] = sa.bindparam("ids", expanding=True)
Ts = TypeVarTuple("Ts")

# Built once: a subject check runs these for every round, so only parameters change
# (SQLAlchemy then reuses the compiled statements).
_TOKENS = sa.select(SubjectTokenRecord.borrower_id, SubjectTokenRecord.token).where(
    SubjectTokenRecord.token_kind == TokenType.RESIDENT_ID,
    SubjectTokenRecord.key_epoch == sa.bindparam("epoch"),
    SubjectTokenRecord.token.in_(_IDS),
)
_DEBT = sa.select(Account.borrower_id, Account.outstanding, Account.days_past_due).where(
    Account.status == AccountStatus.ACTIVE, Account.entrusted_by.is_(None), Account.borrower_id.in_(_IDS)
)
_APPLICATIONS = sa.select(Application.borrower_id, Application.applied_at).where(
    Application.applied_at >= sa.bindparam("since"),
    Application.applied_at <= sa.bindparam("now"),
    Application.borrower_id.in_(_IDS),
)
_INQUIRIES = (
    sa.select(Inquiry.subject_token, sa.func.max(Inquiry.queried_at).label("queried_at"))
    .where(
        Inquiry.token_key_epoch == sa.bindparam("epoch"),
        Inquiry.queried_at >= sa.bindparam("since"),
        Inquiry.queried_at <= sa.bindparam("now"),
        Inquiry.subject_token.in_(_IDS),
    )
    .group_by(Inquiry.subject_token)
)
_BLACKLIST = sa.select(BlacklistEntry.borrower_id, BlacklistEntry.reason).where(
    live_condition(sa.bindparam("today", type_=sa.Date())), BlacklistEntry.borrower_id.in_(_IDS)
)
_CONTACTS = (
    sa.select(Account.borrower_id)
    .join(ContactAttempt, ContactAttempt.account_id == Account.id)
    .where(
        ContactAttempt.connected.is_(True),
        ContactAttempt.attempted_at >= sa.bindparam("since"),
        ContactAttempt.attempted_at <= sa.bindparam("now"),
        Account.borrower_id.in_(_IDS),
    )
)


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
        segment = query.segment_map.get(AnswerSegment.of_role(self._role), AnswerSegment.OTHER)
        now = query.query_time
        local = now.astimezone(self._settings.zone)
        since = now - dt.timedelta(days=max(self.layout.window_days))
        with self._store.transaction() as session:
            run = _Runner(session)
            # Several local records of one person share a token and count as one subject.
            by_borrower = {b: position[t] for b, t in run(_TOKENS, unique, epoch=query.key_epoch)}
            rows[list(set(by_borrower.values())), VectorLayout.HOLDERS] = 1
            ids = list(by_borrower)
            if self._role.is_lender:
                self._debt(rows, by_borrower, run(_DEBT, ids))
                for borrower, applied_at in run(_APPLICATIONS, ids, since=since, now=now):
                    self._count_in_windows(
                        rows,
                        by_borrower[borrower],
                        self.layout.applications_offset,
                        segment,
                        now - applied_at,
                    )
            for borrower, reason in run(_BLACKLIST, ids, today=local.date()):
                rows[
                    by_borrower[borrower], self.layout.blacklist_offset + BLACKLIST_REASONS.index(reason)
                ] += 1
            midnight = local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(dt.UTC)
            for (borrower,) in run(_CONTACTS, ids, since=midnight, now=now):
                rows[by_borrower[borrower], self.layout.contacts_offset] += 1
            # An institution counts once per window however often it asked: its latest inquiry.
            for token, queried_at in run(_INQUIRIES, unique, epoch=query.key_epoch, since=since, now=now):
                self._count_in_windows(
                    rows, position[token], self.layout.inquiries_offset, segment, now - queried_at
                )
        return rows[[position[token] for token in query.tokens]]

    def _debt(
        self, rows: Rows, by_borrower: Mapping[int, int], accounts: list[sa.Row[int, Decimal, int]]
    ) -> None:
        outstanding: dict[int, Decimal] = defaultdict(Decimal)
        worst_dpd: dict[int, int] = {}
        for borrower, amount, days_past_due in accounts:
            index = by_borrower[borrower]
            outstanding[index] += amount
            worst_dpd[index] = max(worst_dpd.get(index, 0), days_past_due)
        for index, total in outstanding.items():
            rows[
                index, self.layout.outstanding_offset + self._settings.outstanding_buckets.index(float(total))
            ] = 1
            rows[index, self.layout.dpd_offset + self._settings.dpd_buckets.index(worst_dpd[index])] = 1

    def _count_in_windows(
        self, rows: Rows, index: int, offset: int, segment: AnswerSegment, age: dt.timedelta
    ) -> None:
        for window_index, days in enumerate(self.layout.window_days):
            if dt.timedelta(0) <= age <= dt.timedelta(days=days):
                rows[index, self.layout.segment_window_slot(offset, segment, window_index)] += 1


class _Runner:
    """Runs a prebuilt statement over an ``ids`` list in IN-clause batches."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def __call__(self, statement: sa.Select[*Ts], ids: Sequence[Any], **params: Any) -> list[sa.Row[*Ts]]:
        found: list[sa.Row[*Ts]] = []
        for start in range(0, len(ids), _IN_BATCH):
            found.extend(
                self._session.execute(statement, {"ids": ids[start : start + _IN_BATCH], **params}).all()
            )
        return found

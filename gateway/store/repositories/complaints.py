"""A member's complaints and their history (``complaints``, ``complaint_events``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from gateway.errors import InvalidInputError, NotFoundError
from gateway.store.database import Store
from gateway.store.enums import (
    ComplaintCategory,
    ComplaintChannel,
    ComplaintGrade,
    ComplaintOutcome,
    ComplaintState,
)
from gateway.store.models import Account, Complaint, ComplaintEvent

__all__ = ["ComplaintRecord", "ComplaintRepository"]


@dataclass(frozen=True)
class ComplaintRecord:
    """A complaint as stored."""

    complaint_ref: str
    received_at: dt.datetime
    channel: ComplaintChannel
    category: ComplaintCategory
    grade: ComplaintGrade
    account_ref: str | None
    borrower_id: int | None
    lender_member_id: str | None
    agency_member_id: str | None
    linked_ref: str | None
    summary: str
    state: ComplaintState
    first_response_due: dt.datetime
    plan_due: dt.datetime
    responded_at: dt.datetime | None
    planned_at: dt.datetime | None
    closed_at: dt.datetime | None
    outcome: ComplaintOutcome | None
    escalated_at: dt.datetime | None
    escalated_to: str | None
    counted_here: bool


_SELECT = sa.select(Complaint, Account.account_ref, Account.borrower_id).outerjoin(
    Account, Account.id == Complaint.account_id
)


class ComplaintRepository:
    """Repository over ``complaints`` and ``complaint_events``."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def add(self, record: ComplaintRecord, *, actor: str, note: str) -> None:
        """Keep a new complaint with its intake event.

        Raises
        ------
        InvalidInputError
            When the reference is taken.
        NotFoundError
            When the account named does not exist at this member.

        """
        with self._store.transaction() as session:
            if session.scalar(sa.select(Complaint.id).where(Complaint.complaint_ref == record.complaint_ref)):
                raise InvalidInputError(
                    f"complaint {record.complaint_ref!r} exists already", field="complaint_ref"
                )
            account_id = None
            if record.account_ref is not None:
                account_id = session.scalar(
                    sa.select(Account.id).where(Account.account_ref == record.account_ref)
                )
                if account_id is None:
                    raise NotFoundError(f"account_ref: no account {record.account_ref!r} at this member")
            row = Complaint(
                complaint_ref=record.complaint_ref,
                received_at=record.received_at,
                channel=record.channel,
                category=record.category,
                grade=record.grade,
                account_id=account_id,
                lender_member_id=record.lender_member_id,
                agency_member_id=record.agency_member_id,
                linked_ref=record.linked_ref,
                summary=record.summary,
                state=record.state,
                first_response_due=record.first_response_due,
                plan_due=record.plan_due,
                responded_at=None,
                planned_at=None,
                closed_at=None,
                outcome=None,
                escalated_at=record.escalated_at,
                escalated_to=record.escalated_to,
                counted_here=record.counted_here,
            )
            session.add(row)
            session.flush()
            session.add(
                ComplaintEvent(
                    complaint_id=row.id, at=record.received_at, action="received", actor=actor, note=note
                )
            )
            if record.escalated_at is not None:
                session.add(
                    ComplaintEvent(
                        complaint_id=row.id,
                        at=record.escalated_at,
                        action="escalated",
                        actor=actor,
                        note=f"serious: to {record.escalated_to}",
                    )
                )

    def get(self, complaint_ref: str) -> ComplaintRecord:
        """One complaint.

        Raises
        ------
        NotFoundError
            When no complaint has that reference.

        """
        with self._store.transaction() as session:
            row = session.execute(_SELECT.where(Complaint.complaint_ref == complaint_ref)).first()
        if row is None:
            raise NotFoundError(f"complaint_ref: no complaint {complaint_ref!r}")
        return _record(*row)

    def all(self, *, states: Sequence[ComplaintState] | None = None) -> list[ComplaintRecord]:
        """Complaints, oldest first (in ``states`` when given)."""
        query = _SELECT.order_by(Complaint.received_at, Complaint.id)
        if states is not None:
            query = query.where(Complaint.state.in_(list(states)))
        with self._store.transaction() as session:
            return [_record(*row) for row in session.execute(query)]

    def received_between(self, start: dt.datetime, end: dt.datetime) -> list[ComplaintRecord]:
        """Complaints received here in ``[start, end)``."""
        query = _SELECT.where(Complaint.received_at >= start, Complaint.received_at < end)
        with self._store.transaction() as session:
            return [_record(*row) for row in session.execute(query)]

    def update(
        self, complaint_ref: str, *, actor: str, action: str, note: str, at: dt.datetime, **values: object
    ) -> None:
        """Change a complaint and record the step in its history.

        Raises
        ------
        NotFoundError
            When no complaint has that reference.

        """
        with self._store.transaction() as session:
            row = session.scalar(sa.select(Complaint).where(Complaint.complaint_ref == complaint_ref))
            if row is None:
                raise NotFoundError(f"complaint_ref: no complaint {complaint_ref!r}")
            for name, value in values.items():
                setattr(row, name, value)
            session.add(ComplaintEvent(complaint_id=row.id, at=at, action=action, actor=actor, note=note))

    def history(self, complaint_ref: str) -> list[tuple[dt.datetime, str, str, str]]:
        """``(at, action, actor, note)`` of every step, oldest first."""
        query = (
            sa.select(ComplaintEvent.at, ComplaintEvent.action, ComplaintEvent.actor, ComplaintEvent.note)
            .join(Complaint, Complaint.id == ComplaintEvent.complaint_id)
            .where(Complaint.complaint_ref == complaint_ref)
            .order_by(ComplaintEvent.id)
        )
        with self._store.transaction() as session:
            return [tuple(row) for row in session.execute(query)]  # type: ignore[misc]  # Row of 4


def _record(row: Complaint, account_ref: str | None, borrower_id: int | None) -> ComplaintRecord:
    return ComplaintRecord(
        row.complaint_ref,
        row.received_at,
        row.channel,
        row.category,
        row.grade,
        account_ref,
        borrower_id,
        row.lender_member_id,
        row.agency_member_id,
        row.linked_ref,
        row.summary,
        row.state,
        row.first_response_due,
        row.plan_due,
        row.responded_at,
        row.planned_at,
        row.closed_at,
        row.outcome,
        row.escalated_at,
        row.escalated_to,
        row.counted_here,
    )

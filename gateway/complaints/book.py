"""The complaint loop at one member: intake, first response, resolution plan, escalation, closure.

Due times are fixed at intake from ``policies/complaints.toml`` (first response within 2 h,
resolution plan within 24 h by default). A serious complaint is escalated at intake; any
complaint whose clock has run out is escalated by :meth:`ComplaintBook.escalate_overdue`.
Every step is timed by the clock passed in, so tests move it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from gateway.clock import Clock
from gateway.complaints.policy import ComplaintPolicy
from gateway.errors import InvalidInputError
from gateway.store.database import Store
from gateway.store.enums import (
    ComplaintCategory,
    ComplaintChannel,
    ComplaintGrade,
    ComplaintOutcome,
    ComplaintState,
)
from gateway.store.repositories.complaints import ComplaintRecord, ComplaintRepository

__all__ = ["ComplaintBook", "ComplaintIntake", "ComplaintView", "SLAStatus", "sla_status"]


class SLAStatus(StrEnum):
    """Whether a complaint was handled within its clocks (the report's ``sla`` cells)."""

    MET = "met"
    MISSED = "missed"
    PENDING = "pending"


@dataclass(frozen=True)
class ComplaintIntake:
    """What is taken down when a complaint arrives."""

    complaint_ref: str
    channel: ComplaintChannel
    category: ComplaintCategory
    grade: ComplaintGrade
    summary: str
    account_ref: str | None = None
    lender_member_id: str | None = None
    agency_member_id: str | None = None
    linked_ref: str | None = None
    # False for a copy registered from the other party's referral: counted where received.
    counted_here: bool = True


@dataclass(frozen=True)
class ComplaintView:
    """A complaint with its clocks read at one instant."""

    record: ComplaintRecord
    first_response_overdue: bool
    plan_overdue: bool
    sla: SLAStatus

    @property
    def overdue(self) -> bool:
        """Whether a clock has run out without the step being done."""
        return self.first_response_overdue or self.plan_overdue


def sla_status(record: ComplaintRecord, now: dt.datetime) -> SLAStatus:
    """Met when both steps were done in time, missed when one was late or is overdue, else pending."""
    steps = ((record.responded_at, record.first_response_due), (record.planned_at, record.plan_due))
    if any((done is not None and done > due) or (done is None and now > due) for done, due in steps):
        return SLAStatus.MISSED
    if all(done is not None for done, _ in steps):
        return SLAStatus.MET
    return SLAStatus.PENDING


class ComplaintBook:
    """The complaints of one member.

    Parameters
    ----------
    store
        The member's store.
    policy
        ``policies/complaints.toml``.
    member_id
        This member (the actor recorded on each step).
    clock
        When each step happens.

    """

    def __init__(self, store: Store, policy: ComplaintPolicy, *, member_id: str, clock: Clock) -> None:
        self._repository = ComplaintRepository(store)
        self._policy = policy
        self._member_id = member_id
        self._clock = clock

    def file(self, intake: ComplaintIntake) -> ComplaintView:
        """Take a complaint in and start its clocks; a serious one is escalated at once.

        Raises
        ------
        InvalidInputError
            When the summary is empty or the reference is taken.
        NotFoundError
            When the account named is not held here.

        """
        if not intake.summary.strip():
            raise InvalidInputError("expected the complainant's account of events", field="summary")
        now = self._clock()
        serious = intake.grade is ComplaintGrade.SERIOUS
        record = ComplaintRecord(
            complaint_ref=intake.complaint_ref,
            received_at=now,
            channel=intake.channel,
            category=intake.category,
            grade=intake.grade,
            account_ref=intake.account_ref,
            borrower_id=None,
            lender_member_id=intake.lender_member_id,
            agency_member_id=intake.agency_member_id,
            linked_ref=intake.linked_ref,
            summary=intake.summary,
            state=ComplaintState.OPEN,
            first_response_due=now + self._policy.first_response,
            plan_due=now + self._policy.resolution_plan,
            responded_at=None,
            planned_at=None,
            closed_at=None,
            outcome=None,
            escalated_at=now if serious else None,
            escalated_to=self._policy.serious_escalate_to if serious else None,
            counted_here=intake.counted_here,
        )
        self._repository.add(record, actor=self._member_id, note=f"via {intake.channel.value}")
        return self.view(intake.complaint_ref)

    def respond(self, complaint_ref: str, note: str) -> ComplaintView:
        """Record the first response to the complainant.

        Raises
        ------
        InvalidInputError
            When the complaint is closed or was answered already.

        """
        record = self._open(complaint_ref)
        if record.responded_at is not None:
            raise InvalidInputError("the first response was recorded already", field="complaint_ref")
        now = self._clock()
        self._repository.update(
            complaint_ref, actor=self._member_id, action="responded", note=note, at=now,
            responded_at=now, state=ComplaintState.RESPONDED,
        )  # fmt: skip
        return self.view(complaint_ref)

    def plan(self, complaint_ref: str, note: str) -> ComplaintView:
        """Record the resolution plan (a first response not yet given is given with it).

        Raises
        ------
        InvalidInputError
            When the complaint is closed or has a plan already.

        """
        record = self._open(complaint_ref)
        if record.planned_at is not None:
            raise InvalidInputError("the resolution plan was recorded already", field="complaint_ref")
        now = self._clock()
        self._repository.update(
            complaint_ref, actor=self._member_id, action="planned", note=note, at=now,
            responded_at=record.responded_at or now, planned_at=now, state=ComplaintState.PLANNED,
        )  # fmt: skip
        return self.view(complaint_ref)

    def close(self, complaint_ref: str, outcome: ComplaintOutcome, note: str) -> ComplaintView:
        """Close with its outcome (steps not yet done are done now, and timed so).

        Raises
        ------
        InvalidInputError
            When the complaint is closed already.

        """
        record = self._open(complaint_ref)
        now = self._clock()
        self._repository.update(
            complaint_ref, actor=self._member_id, action="closed", note=f"{outcome.value}: {note}", at=now,
            responded_at=record.responded_at or now, planned_at=record.planned_at or now,
            closed_at=now, outcome=outcome, state=ComplaintState.CLOSED,
        )  # fmt: skip
        return self.view(complaint_ref)

    def escalate_overdue(self) -> list[str]:
        """Escalate every open complaint whose clock ran out and that was not escalated yet."""
        escalated = []
        now = self._clock()
        for view in self.views(open_only=True):
            if view.overdue and view.record.escalated_at is None:
                self._repository.update(
                    view.record.complaint_ref, actor=self._member_id, action="escalated",
                    note=f"overdue: to {self._policy.overdue_escalate_to}", at=now,
                    escalated_at=now, escalated_to=self._policy.overdue_escalate_to,
                )  # fmt: skip
                escalated.append(view.record.complaint_ref)
        return escalated

    def view(self, complaint_ref: str) -> ComplaintView:
        """One complaint with its clocks read now."""
        return self._view(self._repository.get(complaint_ref), self._clock())

    def views(self, *, open_only: bool = False) -> list[ComplaintView]:
        """Every complaint (open ones only, when asked) with its clocks read now."""
        states = (
            [ComplaintState.OPEN, ComplaintState.RESPONDED, ComplaintState.PLANNED] if open_only else None
        )
        now = self._clock()
        return [self._view(record, now) for record in self._repository.all(states=states)]

    def history(self, complaint_ref: str) -> list[tuple[dt.datetime, str, str, str]]:
        """The steps of one complaint."""
        return self._repository.history(complaint_ref)

    def _open(self, complaint_ref: str) -> ComplaintRecord:
        record = self._repository.get(complaint_ref)
        if record.state is ComplaintState.CLOSED:
            raise InvalidInputError("the complaint is closed", field="complaint_ref")
        return record

    @staticmethod
    def _view(record: ComplaintRecord, now: dt.datetime) -> ComplaintView:
        return ComplaintView(
            record,
            first_response_overdue=record.responded_at is None and now > record.first_response_due,
            plan_overdue=record.planned_at is None and now > record.plan_due,
            sla=sla_status(record, now),
        )

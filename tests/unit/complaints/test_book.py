"""The complaint loop with an injected clock: SLA clocks at their boundaries, escalation, closure."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gateway.clock import system_clock
from gateway.complaints.book import ComplaintBook, ComplaintIntake, SLAStatus
from gateway.complaints.policy import ComplaintPolicy
from gateway.config import default_policies_dir
from gateway.errors import InvalidInputError
from gateway.store.database import Store, open_store
from gateway.store.enums import (
    ComplaintCategory,
    ComplaintChannel,
    ComplaintGrade,
    ComplaintOutcome,
    ComplaintState,
)

POLICY = ComplaintPolicy.from_directory(default_policies_dir())


@dataclass
class Clock:
    now: dt.datetime

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    yield opened
    opened.close()


@pytest.fixture
def clock() -> Clock:
    return Clock(system_clock())


def intake(ref: str, grade: ComplaintGrade = ComplaintGrade.MODERATE) -> ComplaintIntake:
    return ComplaintIntake(
        ref,
        ComplaintChannel.PHONE,
        ComplaintCategory.ATTITUDE_OR_EXCESSIVE,
        grade,
        "催收员一天打了五次电话并辱骂",
        lender_member_id="bank-1",
        agency_member_id="agency-1",
        linked_ref="BANK1-C-77",
    )


def test_the_clocks_come_from_the_policy_and_start_at_intake(store: Store, clock: Clock) -> None:
    book = ComplaintBook(store, POLICY, member_id="agency-1", clock=clock)

    view = book.file(intake("C-1"))

    assert POLICY.first_response == dt.timedelta(hours=2) and POLICY.resolution_plan == dt.timedelta(hours=24)
    assert view.record.first_response_due == clock.now + dt.timedelta(hours=2)
    assert view.record.plan_due == clock.now + dt.timedelta(hours=24)
    assert view.record.lender_member_id == "bank-1" and view.record.linked_ref == "BANK1-C-77"
    assert view.sla is SLAStatus.PENDING and not view.overdue


@pytest.mark.parametrize(
    ("after", "overdue"), [(dt.timedelta(hours=2), False), (dt.timedelta(hours=2, seconds=1), True)]
)
def test_a_first_response_is_overdue_one_second_after_two_hours(
    store: Store, clock: Clock, after: dt.timedelta, overdue: bool
) -> None:
    book = ComplaintBook(store, POLICY, member_id="agency-1", clock=clock)
    book.file(intake("C-2"))
    clock.now += after

    view = book.view("C-2")

    assert view.first_response_overdue is overdue
    assert view.sla is (SLAStatus.MISSED if overdue else SLAStatus.PENDING)


def test_overdue_complaints_are_escalated_once(store: Store, clock: Clock) -> None:
    book = ComplaintBook(store, POLICY, member_id="agency-1", clock=clock)
    book.file(intake("C-3"))
    book.file(intake("C-4"))
    clock.now += dt.timedelta(minutes=30)
    book.respond("C-4", "已致电客户致歉")
    clock.now += dt.timedelta(hours=2)

    first, second = book.escalate_overdue(), book.escalate_overdue()

    assert first == ["C-3"] and second == []
    assert book.view("C-3").record.escalated_to == POLICY.overdue_escalate_to
    clock.now += dt.timedelta(hours=22)
    assert book.escalate_overdue() == ["C-4"]  # its plan is now overdue


def test_a_serious_complaint_is_escalated_at_intake(store: Store, clock: Clock) -> None:
    book = ComplaintBook(store, POLICY, member_id="bank-1", clock=clock)

    view = book.file(intake("C-5", ComplaintGrade.SERIOUS))

    assert view.record.escalated_at == clock.now and view.record.escalated_to == POLICY.serious_escalate_to
    assert [step[1] for step in book.history("C-5")] == ["received", "escalated"]


def test_handled_in_time_is_met_and_closure_records_the_outcome(store: Store, clock: Clock) -> None:
    book = ComplaintBook(store, POLICY, member_id="bank-1", clock=clock)
    book.file(intake("C-6"))
    clock.now += dt.timedelta(hours=1)
    book.respond("C-6", "回电说明情况")
    clock.now += dt.timedelta(hours=20)
    book.plan("C-6", "更换催收员并限制联系次数")
    clock.now += dt.timedelta(days=3)

    closed = book.close("C-6", ComplaintOutcome.UPHELD, "客户接受")

    assert closed.record.state is ComplaintState.CLOSED and closed.record.outcome is ComplaintOutcome.UPHELD
    assert closed.sla is SLAStatus.MET
    with pytest.raises(InvalidInputError, match="closed"):
        book.respond("C-6", "again")


def test_a_plan_made_after_24_hours_misses_the_sla_even_when_closed(store: Store, clock: Clock) -> None:
    book = ComplaintBook(store, POLICY, member_id="bank-1", clock=clock)
    book.file(intake("C-7"))
    clock.now += dt.timedelta(minutes=10)
    book.respond("C-7", "已受理")
    clock.now += dt.timedelta(hours=24)

    view = book.close("C-7", ComplaintOutcome.NOT_UPHELD, "核实无误")

    assert view.sla is SLAStatus.MISSED


def test_an_empty_summary_is_refused(store: Store, clock: Clock) -> None:
    book = ComplaintBook(store, POLICY, member_id="bank-1", clock=clock)
    blank = ComplaintIntake("C-8", ComplaintChannel.APP, ComplaintCategory.OTHER, ComplaintGrade.MINOR, "  ")

    with pytest.raises(InvalidInputError, match="summary"):
        book.file(blank)

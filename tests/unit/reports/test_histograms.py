from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from gateway.config import default_policies_dir
from gateway.errors import ConfigError, InvalidInputError
from gateway.policy.contact_rules import ContactRules
from gateway.reports.histograms import (
    Observation,
    Period,
    PersonKeys,
    compute_histograms,
    histogram_from_observations,
)
from gateway.reports.templates import ReportTemplate
from gateway.roles import Role
from gateway.store import Store, open_store
from gateway.store.enums import AccountStatus, ContactChannel, Decision, ReasonCode, Segment
from gateway.store.models import Account, Application, Borrower, ContactAttempt, Inquiry, RepaymentMonth

OCT = Period.parse("2026-10")
RULES = ContactRules.from_directory(default_policies_dir())
CREATED = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
# Every borrower's token (the OPRF token of its resident ID); borrower 4 is borrower 1 again.
PERSONS = PersonKeys({1: b"p1", 2: b"p2", 3: b"p3", 4: b"p1"})


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    handle = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    yield handle
    handle.close()


def _borrower(number: int, province: str) -> Borrower:
    return Borrower(
        id=number,
        borrower_ref=f"b{number}",
        resident_id=f"{number:018d}",
        name="x",
        mobile="13800000000",
        address="x",
        province=province,
        created_at=CREATED,
    )


def _account(number: int, borrower: int, segment: Segment, outstanding: int, dpd: int) -> Account:
    return Account(
        id=number,
        account_ref=f"a{number}",
        borrower_id=borrower,
        segment=segment,
        product="loan",
        credit_limit=Decimal(100000),
        principal=Decimal(outstanding),
        outstanding=Decimal(outstanding),
        days_past_due=dpd,
        status=AccountStatus.ACTIVE,
        opened_on=dt.date(2025, 1, 1),
    )


def _seed(store: Store) -> None:
    with store.transaction() as session:
        session.add_all([_borrower(1, "上海市"), _borrower(2, "广东省"), _borrower(3, "西藏自治区")])
        session.flush()
        session.add_all(
            [
                # Borrower 1 holds three bank accounts: counted once, at the worst DPD, total balance.
                _account(1, 1, Segment.BANK, 3000, 0),
                _account(2, 1, Segment.BANK, 4000, 45),
                _account(3, 1, Segment.BANK, 30000, 10),
                _account(4, 1, Segment.MICRO_LOAN, 500, 0),
                _account(5, 2, Segment.CONSUMER_FINANCE, 9000, 200),
                _account(6, 3, Segment.BANK, 100, 0),
                # Credit cards are not a segment of the template: dropped.
                _account(7, 2, Segment.CREDIT_CARD, 100, 0),
            ]
        )
        session.flush()
        session.add(
            RepaymentMonth(
                account_id=2, months_ago=1, repayment_status=2, statement_balance=Decimal(10), amount_paid=0
            )
        )
        at = dt.datetime(2026, 10, 5, tzinfo=dt.UTC)
        session.add_all(
            [
                Application(
                    id=1,
                    application_ref="p1",
                    borrower_id=1,
                    applied_at=at,
                    segment=Segment.BANK,
                    amount_requested=Decimal(1),
                    decision=Decision.DECLINED,
                ),
                Application(
                    id=2,
                    application_ref="p2",
                    borrower_id=1,
                    applied_at=at + dt.timedelta(days=1),
                    segment=Segment.BANK,
                    amount_requested=Decimal(1),
                    decision=Decision.APPROVED,
                ),
                Application(
                    id=3,
                    application_ref="p3",
                    borrower_id=2,
                    applied_at=at - dt.timedelta(days=40),
                    segment=Segment.BANK,
                    amount_requested=Decimal(1),
                    decision=Decision.APPROVED,
                ),
            ]
        )
        session.add_all(
            [
                Inquiry(
                    query_id=f"q{i}",
                    subject_token=token,
                    token_key_epoch=1,
                    reason_code=reason,
                    consent_ref="c",
                    queried_at=at,
                )
                for i, (token, reason) in enumerate(
                    [
                        (b"t1", ReasonCode.LOAN_APPROVAL),
                        (b"t1", ReasonCode.LOAN_APPROVAL),
                        (b"t1", ReasonCode.POST_LOAN_MANAGEMENT),
                        (b"t2", ReasonCode.LOAN_APPROVAL),
                    ]
                )
            ]
        )


def _cell(template: ReportTemplate, histogram_id: str, *labels: str) -> int:
    histogram = template.histogram(histogram_id)
    slots = []
    for name, label in zip(histogram.dimensions, labels, strict=True):
        slot = template.dimensions[name].slot(label)
        assert slot is not None
        slots.append(slot)
    return int(np.ravel_multi_index(tuple(slots), template.shape(histogram)))


def test_member_histograms_are_bounded_per_borrower(store: Store, template: ReportTemplate) -> None:
    _seed(store)
    vectors = compute_histograms(
        store, template, OCT, role=Role.BANK, snapshot_period=OCT, contact_rules=RULES, persons=PERSONS
    )
    delinquency = vectors["delinquency"]
    assert int(delinquency.sum()) == 4  # (1, bank), (1, micro), (2, consumer finance), (3, bank).
    assert delinquency[_cell(template, "delinquency", "bank", "上海市", "31-60")] == 1
    assert delinquency[_cell(template, "delinquency", "micro_loan", "上海市", "current")] == 1
    assert delinquency[_cell(template, "delinquency", "consumer_finance", "广东省", ">180")] == 1
    assert delinquency[_cell(template, "delinquency", "bank", "other", "current")] == 1
    outstanding = vectors["outstanding"]
    assert outstanding[_cell(template, "outstanding", "bank", "20k-50k")] == 1  # 37,000 in total.
    inquiries = vectors["inquiries"]
    assert inquiries[_cell(template, "inquiries", "loan_approval")] == 2  # t1 once, t2 once.
    assert inquiries[_cell(template, "inquiries", "post_loan_management")] == 1
    applications = vectors["applications"]
    assert int(applications.sum()) == 1
    assert applications[_cell(template, "applications", "bank", "approved")] == 1  # Latest decision.


def test_earlier_month_uses_repayment_history(store: Store, template: ReportTemplate) -> None:
    _seed(store)
    september = Period.parse("2026-09")
    vectors = compute_histograms(
        store, template, september, role=Role.BANK, snapshot_period=OCT, contact_rules=RULES, persons=PERSONS
    )
    # Only account 2 has a September statement: two months late.
    assert int(vectors["delinquency"].sum()) == 1
    assert vectors["delinquency"][_cell(template, "delinquency", "bank", "上海市", "31-60")] == 1


def test_agency_reports_no_debt(store: Store, template: ReportTemplate) -> None:
    _seed(store)
    vectors = compute_histograms(
        store, template, OCT, role=Role.AGENCY, snapshot_period=OCT, contact_rules=RULES, persons=PERSONS
    )
    assert int(vectors["delinquency"].sum()) == 0
    assert int(vectors["inquiries"].sum()) == 3


def test_period_outside_history_is_refused(store: Store, template: ReportTemplate) -> None:
    with pytest.raises(InvalidInputError, match="period"):
        compute_histograms(
            store,
            template,
            Period.parse("2026-11"),
            role=Role.BANK,
            snapshot_period=OCT,
            contact_rules=RULES,
            persons=PERSONS,
        )
    with pytest.raises(InvalidInputError, match="expected YYYY-MM"):
        Period.parse("2026-13")


def test_l0_bound_keeps_first_cells(template: ReportTemplate) -> None:
    histogram = template.histogram("inquiries")
    observations = [Observation("t", {"reason_code": reason.value}) for reason in ReasonCode]
    counts = histogram_from_observations(template, histogram, observations)
    assert counts.tolist()[:4] == [1, 1, 1, 0]
    assert int(counts.sum()) == histogram.max_cells_per_borrower


def _contact(
    number: int, account: int, local: dt.datetime, channel: ContactChannel, *, connected: bool
) -> ContactAttempt:
    return ContactAttempt(
        id=number,
        contact_ref=f"c{number}",
        account_id=account,
        attempted_at=local,
        channel=channel,
        contact_number=None if channel is ContactChannel.VISIT else "13900000000",
        connected=connected,
    )


def test_contact_violations_count_each_debtor_once_per_rule(store: Store, template: ReportTemplate) -> None:
    _seed(store)
    shanghai = dt.timezone(dt.timedelta(hours=8))
    day = dt.datetime(2026, 10, 12, 9, 0, tzinfo=shanghai)
    contacts = [
        # Borrower 1: a call at 22:30 and one at 07:10 Beijing time (quiet hours, counted once).
        _contact(1, 1, day.replace(hour=22, minute=30), ContactChannel.PHONE, connected=False),
        _contact(2, 2, day.replace(hour=7, minute=10), ContactChannel.PHONE, connected=False),
        # Borrower 2: four connected calls in one day (AI voice counts), over the cap of three.
        *[
            _contact(10 + i, 5, day + dt.timedelta(minutes=30 * i), ContactChannel.AI_VOICE, connected=True)
            for i in range(4)
        ],
        # Borrower 3: seven unanswered attempts on one number in one day (cap six); SMS and visits
        # connected or not, the cap counts attempts on a number.
        *[
            _contact(20 + i, 6, day + dt.timedelta(minutes=10 * i), ContactChannel.PHONE, connected=False)
            for i in range(7)
        ],
        # Borrower 2 again, three connected visits on another day: visits are not calls.
        *[
            _contact(30 + i, 5, day + dt.timedelta(days=1, minutes=i), ContactChannel.VISIT, connected=True)
            for i in range(4)
        ],
    ]
    with store.transaction() as session:
        session.add_all(contacts)

    vectors = compute_histograms(
        store, template, OCT, role=Role.BANK, snapshot_period=OCT, contact_rules=RULES, persons=PERSONS
    )

    violations = vectors["contact_violations"]
    assert violations.tolist() == [1, 1, 1]  # quiet hours, connected-call cap, unanswered cap


def test_contact_histogram_needs_the_rules(store: Store, template: ReportTemplate) -> None:
    with pytest.raises(ConfigError, match="contact rules"):
        compute_histograms(store, template, OCT, role=Role.BANK, snapshot_period=OCT, persons=PERSONS)


def test_one_person_under_two_borrower_rows_is_counted_once(store: Store, template: ReportTemplate) -> None:
    # Issue #13 finding 5: a resident ID under a second borrower_ref used to put 2 in a cell
    # bounded at 1. Borrower 4 is borrower 1's second record (the same token).
    _seed(store)
    with store.transaction() as session:
        session.add(_borrower(4, "上海市"))
        session.flush()
        session.add_all(
            [_account(8, 4, Segment.BANK, 7000, 100), _account(9, 4, Segment.CONSUMER_FINANCE, 10, 0)]
        )
    vectors = compute_histograms(
        store, template, OCT, role=Role.BANK, snapshot_period=OCT, contact_rules=RULES, persons=PERSONS
    )
    delinquency = vectors["delinquency"]
    # Person 1: bank (worst DPD over both records: 100 days), micro-loan, consumer finance —
    # three cells, one each, whatever the number of records.
    assert delinquency[_cell(template, "delinquency", "bank", "上海市", "91-180")] == 1
    assert delinquency[_cell(template, "delinquency", "bank", "上海市", "31-60")] == 0
    assert delinquency.max() == 1
    histogram = template.histogram("delinquency")
    assert int(delinquency.sum()) <= 3 * histogram.l1_sensitivity  # three persons, each within Δ₁

"""The regulator's monthly-conduct report: members' complaints, prevented contacts and conduct
flags released under the same distributed differential privacy as the risk report (issue #13:
the regulator's signed order, per-attempt charges, measured totals, the per-person bound).

The statistical check is the risk report's (``test_release.published_errors``): every
published figure, cells and totals, within the exact Chernoff bound of its truth for the
stated reconciliation weights plus rounding (union bound: ≤ 1e-7 false failure for the call).
"""

from __future__ import annotations

import os

import pytest
import sqlalchemy as sa

from gateway.clock import LOCAL_ZONE, system_clock
from gateway.complaints.book import ComplaintBook, ComplaintIntake
from gateway.complaints.policy import ComplaintPolicy
from gateway.config import default_policies_dir
from gateway.reports.histograms import Period
from gateway.reports.render import sla_share
from gateway.reports.templates import load_template
from gateway.store.database import open_store
from gateway.store.enums import (
    ClearanceDecision,
    ComplaintCategory,
    ComplaintChannel,
    ComplaintGrade,
    ContactChannel,
    ContactParty,
)
from gateway.store.models import Account
from gateway.store.repositories.contact_member import ClearanceLog

from ..subject_check.conftest import MEMBERS, Consortium
from .conftest import Regulator, charges, true_counts
from .test_release import published_errors

pytestmark = pytest.mark.slow


def _activity(world: Consortium) -> None:
    """Each member files 100 complaints (met in time) and is refused 100 contacts by quiet hours.

    Each complaint names the account it is about: the report counts persons, and a complaint
    naming no borrower of the member is not counted (it cannot be bounded per person).
    """
    now = system_clock()
    policy = ComplaintPolicy.from_directory(default_policies_dir())
    for member_id in MEMBERS:
        store = open_store(world.settings[member_id].store_url)
        try:
            with store.transaction() as session:
                accounts = [
                    (account_id, account_ref)
                    for account_id, account_ref in session.execute(
                        sa.select(Account.id, Account.account_ref).order_by(Account.id).limit(100)
                    )
                ]
            book = ComplaintBook(store, policy, member_id=member_id, clock=lambda: now)
            log = ClearanceLog(store)
            for number, (account_id, account_ref) in enumerate(accounts):
                ref = f"{member_id}-C{number}"
                book.file(
                    ComplaintIntake(ref, ComplaintChannel.PHONE, ComplaintCategory.ATTITUDE_OR_EXCESSIVE,
                                    ComplaintGrade.MINOR, "态度恶劣", account_ref)
                )  # fmt: skip
                book.respond(ref, "已回复")
                book.plan(ref, "已整改")
                log.add(
                    idempotency_key=os.urandom(16),
                    account_id=account_id,
                    requested_at=now,
                    local_day=now.astimezone(LOCAL_ZONE).date(),
                    channel=ContactChannel.PHONE,
                    party=ContactParty.DEBTOR,
                    decision=ClearanceDecision.QUIET_HOURS,
                    reservation_id=None,
                    expires_at=None,
                )
        finally:
            store.close()


def test_conduct_report_is_the_truth_plus_the_stated_noise(
    consortium: Consortium, regulator: Regulator
) -> None:
    _activity(consortium)
    period = str(Period.containing(system_clock(), LOCAL_ZONE))
    template = load_template(default_policies_dir(), "monthly-conduct")

    report = regulator.request("monthly-conduct", period)
    truth = true_counts(consortium, template, period)

    assert report.release.answering_members == 5 and not report.from_cache
    errors = published_errors(report.release, template, truth)
    assert len(errors) > 10
    assert all(abs(error) <= bound for error, bound in errors), max(errors, key=lambda e: abs(e[0]) - e[1])
    # Charged per answered attempt under the regulator's certificate (issue #13 ledger).
    assert any(c.template_id == "monthly-conduct" and not c.refunded for c in charges(
        consortium, "bank-1", "cbirc", period))  # fmt: skip
    complaints = report.release.histogram("complaints")
    prevented = report.release.histogram("contacts_prevented")
    # Persons: two of a member's accounts may belong to one person (one complaint cell each),
    # and a person counted at more members than the template allows is left out.
    assert 250 <= int(truth["complaints"].sum()) <= 5 * 100
    assert 250 <= int(truth["contacts_prevented"].sum()) <= 5 * 100
    # Every true complaint is "met": the share from the published totals by SLA status. The
    # published "met" total is unbiased with the standard error it states; it falls below half
    # the truth only past 5.5 standard errors (normal approximation of the Skellam sum:
    # P < 4e-8), and the standard error is checked to leave that margin.
    spec = template.histogram("complaints")
    truth_met = sum(
        int(count)
        for index, count in enumerate(truth["complaints"])
        if template.coordinates(spec, index)[-1] == "met"
    )
    by_sla = complaints.margin(("sla",))
    assert by_sla is not None
    met = next(cell for cell in by_sla.cells if cell.coordinates == ("met",))
    assert truth_met == int(truth["complaints"].sum()) and 5.5 * met.standard_error < truth_met / 2
    share = sla_share(complaints)
    assert share is not None and share[1] == met.noisy_count and share[1] > truth_met / 2
    assert prevented.total.noisy_count is not None

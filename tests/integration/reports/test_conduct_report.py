"""The regulator's monthly-conduct report: members' complaints, prevented contacts and conduct
flags released under the same distributed differential privacy as the risk report.

The statistical check is the risk report's (``test_release._assert_truth_plus_stated_noise``):
every released cell within the exact Chernoff bound of its truth for the stated Skellam
variance, and the number released within the exact Poisson-binomial interval (together
≤ 2e-7 false failure).
"""

from __future__ import annotations

import os

import pytest

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
from .conftest import Regulator, true_counts
from .test_release import _assert_truth_plus_stated_noise

pytestmark = pytest.mark.slow


def _activity(world: Consortium) -> None:
    """Each member files 40 complaints (met in time) and is refused 40 contacts by quiet hours."""
    now = system_clock()
    policy = ComplaintPolicy.from_directory(default_policies_dir())
    for member_id in MEMBERS:
        store = open_store(world.settings[member_id].store_url)
        try:
            with store.transaction() as session:
                accounts = list(
                    session.scalars(
                        Account.__table__.select()
                        .with_only_columns(Account.id, Account.account_ref)
                        .limit(40)
                    )
                )
            book = ComplaintBook(store, policy, member_id=member_id, clock=lambda: now)
            log = ClearanceLog(store)
            for number, account_id in enumerate(accounts):
                ref = f"{member_id}-C{number}"
                book.file(
                    ComplaintIntake(ref, ComplaintChannel.PHONE, ComplaintCategory.ATTITUDE_OR_EXCESSIVE,
                                    ComplaintGrade.MINOR, "态度恶劣", None)
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

    _assert_truth_plus_stated_noise([(report.release, truth)], template.release.noisy_count_threshold)
    complaints = next(h for h in report.release.histograms if h.histogram_id == "complaints")
    prevented = next(h for h in report.release.histograms if h.histogram_id == "contacts_prevented")
    # Complaints filed without an account are their own privacy unit; refused contacts count
    # debtors, and two of a member's accounts may belong to one debtor.
    assert (
        int(truth["complaints"].sum()) == 5 * 40 and 150 <= int(truth["contacts_prevented"].sum()) <= 5 * 40
    )
    # 200 true "met" complaints in one cell and 0 "missed": released, and the share is 1 unless
    # the noise alone lifts an empty "missed" cell over the threshold.
    share = sla_share(complaints)
    assert share is not None and share[1] > 100
    assert any(c.noisy_count is not None for c in prevented.cells if c.coordinates == ("quiet_hours",))

"""The monthly-conduct report's feeds from one member's store, exactly, per person, and the SLA share."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from gateway.clock import LOCAL_ZONE, system_clock
from gateway.complaints.book import ComplaintBook, ComplaintIntake
from gateway.complaints.policy import ComplaintPolicy
from gateway.conduct.node import screen_and_keep
from gateway.conduct.rules import ConductRuleSet
from gateway.conduct.screener import ConductScreener, Transcript, Utterance
from gateway.config import default_policies_dir
from gateway.policy.contact_rules import ContactRules
from gateway.reports.histograms import Period, PersonKeys, compute_histograms
from gateway.reports.release import HistogramRelease, MarginRelease, ReleaseCell, Treatment
from gateway.reports.render import sla_share
from gateway.reports.templates import load_template
from gateway.roles import Role
from gateway.store.database import Store, open_store
from gateway.store.enums import (
    ClearanceDecision,
    ComplaintCategory,
    ComplaintChannel,
    ComplaintGrade,
    ComplaintOutcome,
    ConductSource,
    ContactChannel,
    ContactParty,
)
from gateway.store.models import Borrower
from gateway.store.repositories.contact_member import ClearanceLog, account_for_contact

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from contact_book import load_book, people

POLICIES = default_policies_dir()
TEMPLATE = load_template(POLICIES, "monthly-conduct")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    load_book(opened, "agency-1", people(6, seed=2), now=system_clock(), entrusted_by="bank-1")
    yield opened
    opened.close()


def persons(store: Store, *, same_person: tuple[int, int]) -> PersonKeys:
    """Every borrower its own person token, except that ``same_person`` are one person's two rows."""
    with store.transaction() as session:
        ids = sorted(session.scalars(sa.select(Borrower.id)))
    tokens = {borrower: f"person-{borrower}".encode() for borrower in ids}
    tokens[ids[same_person[1]]] = tokens[ids[same_person[0]]]
    return PersonKeys(tokens)


def vector(histograms: dict[str, np.ndarray], histogram_id: str) -> dict[tuple[str, ...], int]:
    spec = TEMPLATE.histogram(histogram_id)
    return {TEMPLATE.coordinates(spec, i): int(v) for i, v in enumerate(histograms[histogram_id]) if v}


def test_each_feed_counts_persons_once_per_cell(store: Store) -> None:
    now = system_clock()
    refs = [f"agency-1-acc-{n:05d}" for n in range(6)]
    log = ClearanceLog(store)
    for ref, decision in [
        (refs[0], "quiet_hours"),
        (refs[0], "quiet_hours"),
        (refs[1], "connected_cap"),
        (refs[2], "granted"),
    ]:
        log.add(
            idempotency_key=os.urandom(16),
            account_id=account_for_contact(store, ref).account_id,
            requested_at=now,
            local_day=now.astimezone(LOCAL_ZONE).date(),
            channel=ContactChannel.PHONE,
            party=ContactParty.DEBTOR,
            decision=ClearanceDecision(decision),
            reservation_id=None,
            expires_at=None,
        )
    book = ComplaintBook(
        store, ComplaintPolicy.from_directory(POLICIES), member_id="agency-1", clock=lambda: now
    )
    for n, grade in enumerate([ComplaintGrade.MINOR, ComplaintGrade.SERIOUS]):
        book.file(
            ComplaintIntake(
                f"C{n}",
                ComplaintChannel.PHONE,
                ComplaintCategory.HARASSING_CONTACTS,
                grade,
                "骚扰家人",
                refs[n],
            )
        )
    book.close("C0", ComplaintOutcome.UPHELD, "处理完毕")
    # Issue #13: borrower rows 4 and 5 are one person, whose two complaints fall in one cell
    # (counted once); a complaint naming no borrower cannot be bounded per person (not counted).
    for ref in ("C4", "C5"):
        book.file(
            ComplaintIntake(ref, ComplaintChannel.APP, ComplaintCategory.INFORMATION_LEAK,
                            ComplaintGrade.MODERATE, "泄露", refs[int(ref[1])])
        )  # fmt: skip
    book.file(
        ComplaintIntake(
            "C7", ComplaintChannel.APP, ComplaintCategory.OTHER, ComplaintGrade.MINOR, "no account"
        )
    )
    book.file(
        ComplaintIntake(
            "C9",
            ComplaintChannel.APP,
            ComplaintCategory.OTHER,
            ComplaintGrade.MINOR,
            "copy",
            counted_here=False,
        )
    )
    screener = ConductScreener(ConductRuleSet.from_directory(POLICIES), ContactRules.from_directory(POLICIES))
    for n in range(2):
        screen_and_keep(
            store,
            screener,
            ContactRules.from_directory(POLICIES),
            Transcript(f"call-{n}", ConductSource.TRANSCRIPT, ContactParty.DEBTOR,
                       (Utterance("collector", "你这个骗子，装什么可怜。"),), account_ref=refs[3]),
            now=now,
        )  # fmt: skip
    period = Period.containing(now, LOCAL_ZONE)

    histograms = compute_histograms(
        store,
        TEMPLATE,
        period,
        role=Role.AGENCY,
        snapshot_period=period,
        persons=persons(store, same_person=(4, 5)),
        contact_rules=None,
        as_of=now,
    )

    assert vector(histograms, "contacts_prevented") == {("quiet_hours",): 1, ("connected_cap",): 1}
    assert vector(histograms, "complaints") == {
        ("harassing_contacts", "minor", "met"): 1,
        ("harassing_contacts", "serious", "pending"): 1,
        ("information_leak", "moderate", "pending"): 1,
    }
    assert vector(histograms, "conduct_flags") == {("insult",): 1}


def test_the_sla_share_is_read_from_the_published_totals_by_sla() -> None:
    # Issue #13: the share comes from the measured, reconciled totals by SLA status (suppressed
    # cells included in them), never from the released cells alone.
    spec = TEMPLATE.histogram("complaints")
    cells = tuple(
        ReleaseCell(TEMPLATE.coordinates(spec, index), None, Treatment.SUPPRESSED, (), 4.0)
        for index in range(TEMPLATE.width(spec))
    )
    by_sla = MarginRelease(
        ("sla",),
        (
            ReleaseCell(("met",), 30, Treatment.NOISED, (), 5.0),
            ReleaseCell(("missed",), 10, Treatment.NOISED, (), 5.0),
            ReleaseCell(("pending",), -2, Treatment.NOISED, (), 5.0),
        ),
    )
    grand = MarginRelease((), (ReleaseCell((), 38, Treatment.NOISED, (), 6.0),))
    release = HistogramRelease("complaints", "c", spec.dimensions, 0.006, 83.0, cells, (grand, by_sla))

    assert sla_share(release) == (0.75, 30, 10)
    assert (
        sla_share(HistogramRelease("complaints", "c", spec.dimensions, 0.006, 83.0, cells, (grand,))) is None
    )
    assert sla_share(HistogramRelease("x", "x", ("conduct_rule",), 0.006, 1.0, ())) is None

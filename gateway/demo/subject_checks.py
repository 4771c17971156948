"""Demo steps for the subject check: tokenise books, single checks, a batch screen, subject access."""

from __future__ import annotations

import time

import sqlalchemy as sa
from rich.table import Table

from gateway.cli.queries import write_results
from gateway.clock import local_date, system_clock
from gateway.crypto.keys import KeyPair
from gateway.demo.context import DemoContext
from gateway.errors import UnavailableError
from gateway.node.book_tokens import tokenise_book
from gateway.node.ceremony import run_ceremony
from gateway.node.session import member_session
from gateway.node.subject_access import relay_subject_access
from gateway.queries.inquiries.records import open_records
from gateway.queries.subject_check.querier import CheckOutcome, SubjectRequest
from gateway.store.database import Store
from gateway.store.enums import ReasonCode
from gateway.store.models import Account, Borrower
from gateway.store.repositories.consents import valid_consents


def tokenise_books(context: DemoContext) -> None:
    """The members' secret ceremony (once), then every member tokenises its book through the OPRF."""
    first = next(iter(context.member_settings.values()))
    with member_session(first) as session:
        if not session.secrets.epochs:
            epoch, delivered, failed = run_ceremony(session)
            for _ in range(5):
                if not failed:
                    break
                # A member still starting up: re-send the same epoch to those that missed it.
                time.sleep(1.0)
                _, more, failed = run_ceremony(session, epoch=epoch)
                delivered += more
            context.console.print(
                f"  members' secret epoch {epoch} made by {session.identity.own.member_id}, "
                f"delivered to {len(set(delivered))} members (the bureau relayed sealed envelopes only)"
            )
            if failed:
                raise UnavailableError(f"the members' secret did not reach {', '.join(failed)}")
    total = 0
    for settings in context.member_settings.values():
        with member_session(settings) as session:
            total += tokenise_book(session.store, session.tokeniser, now=context.clock())[1]
    context.results["borrowers_tokenised"] = total
    context.console.print(f"  {total} borrowers tokenised; the bureau saw blinded points only")


def single_checks(context: DemoContext) -> None:
    """A lender and the agency each check one subject."""
    table = Table(
        "querier",
        "reason",
        "status",
        "members answered",
        "other lenders by outstanding",
        "other lenders by days past due",
        "blacklist",
        title="single subject checks (other institutions)",
    )
    for member_id, reason, entrusted in (
        ("bank-1", ReasonCode.POST_LOAN_MANAGEMENT, False),
        ("agency-1", ReasonCode.COLLECTION_CASE_CHECK, True),
    ):
        with member_session(context.member_settings[member_id]) as session:
            resident_id, consent = _consented(
                session.store, reason, entrusted=entrusted, prefer=_multi_lender_ids(context)
            )
            outcome = session.subject_checks().check_one(SubjectRequest(resident_id, consent), reason)
        table.add_row(
            member_id,
            reason.value,
            outcome.answer.status.value,
            str(outcome.answer.coverage.members_answered),
            _nonzero(outcome, "lenders_by_outstanding"),
            _nonzero(outcome, "lenders_by_days_past_due"),
            _nonzero(outcome, "blacklist"),
        )
        context.checked_subjects.append(resident_id)
    context.console.print(table)


def batch_screen(context: DemoContext) -> None:
    """bank-2 screens every borrower it holds a post-loan consent for."""
    with member_session(context.member_settings["bank-2"]) as session:
        subjects = [
            SubjectRequest(r, c) for r, c in _consents(session.store, ReasonCode.POST_LOAN_MANAGEMENT)
        ]
        started = time.perf_counter()
        outcomes = session.subject_checks().check_many(subjects, ReasonCode.POST_LOAN_MANAGEMENT)
        seconds = time.perf_counter() - started
    destination = context.outputs / "bank-2-portfolio-screen.csv"
    write_results(destination, subjects, outcomes)
    hits = sum(1 for o in outcomes if o.answer.status.value == "hit")
    context.results["batch_subjects"] = len(subjects)
    context.results["batch_seconds"] = round(seconds, 2)
    context.console.print(
        f"  {len(subjects)} subjects screened in {seconds:.1f} s ({hits} held elsewhere); "
        f"bucketed results in {destination}"
    )


def subject_access(context: DemoContext) -> None:
    """A borrower asks cfc-1 who looked them up; only the borrower's key opens the answer."""
    checked = context.checked_subjects
    subject = KeyPair.generate()
    with member_session(context.member_settings["cfc-1"]) as session:
        envelopes, _ = relay_subject_access(session, checked[0], subject.public_key, "DEMO-SUBJECT-REQUEST")
    records = sorted(
        r
        for box in envelopes
        for r in open_records(
            box, subject_private_key=subject.private_key, subject_public_key=subject.public_key
        )
    )
    table = Table("date", "institution", "reason", title="the subject's own view: who queried me")
    for record in records:
        table.add_row(record.date, record.institution, record.reason)
    context.console.print(table)
    context.results["subject_access_records"] = len(records)


def _consents(store: Store, reason: ReasonCode) -> list[tuple[str, str]]:
    return valid_consents(store, reason, today=local_date(system_clock()))


def _consented(store: Store, reason: ReasonCode, *, entrusted: bool, prefer: set[str]) -> tuple[str, str]:
    """A consented subject with an account here (entrusted, for an agency), multi-lender ones first."""
    with store.transaction() as session:
        query = sa.select(Borrower.resident_id).join(Account)
        if entrusted:
            query = query.where(Account.entrustment_expires_on >= local_date(system_clock()))
        with_accounts = set(session.scalars(query))
    candidates = [c for c in _consents(store, reason) if c[0] in with_accounts]
    return min(candidates, key=lambda c: c[0] not in prefer)


def _multi_lender_ids(context: DemoContext) -> set[str]:
    """People with accounts at three or more lenders (from the synthetic ground truth)."""
    return {
        p["resident_id"]
        for p in context.truth()["people"]
        if len({h["member_id"] for h in p["holdings"] if h["account_refs"]}) >= 3
    }


def _nonzero(outcome: CheckOutcome, attribute: str) -> str:
    values = getattr(outcome.answer, attribute)
    return ", ".join(f"{k}: {v}" for k, v in values.items() if v != "0") or "none"

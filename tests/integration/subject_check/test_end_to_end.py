"""A subject check across the consortium: answered, equal to the raw data, recorded, cached."""

from __future__ import annotations

import sqlalchemy as sa

from gateway.config import default_policies_dir
from gateway.node.session import member_session
from gateway.queries.subject_check.answer import CheckStatus
from gateway.queries.subject_check.querier import SubjectRequest
from gateway.queries.subject_check.settings import SubjectCheckSettings
from gateway.store import open_store
from gateway.store.enums import TokenType
from gateway.store.models import Inquiry
from gateway.store.repositories.audit import AuditLog

from .conftest import Consortium, expected_answer

BUCKETS = SubjectCheckSettings.from_directory(default_policies_dir()).count_buckets


def multi_lender(person: dict[str, object]) -> bool:
    holdings = person["holdings"]
    assert isinstance(holdings, list)
    return len({h["member_id"] for h in holdings if h["account_refs"]}) >= 3


def test_the_answer_equals_the_sum_over_the_other_members_raw_records(consortium: Consortium) -> None:
    person, consent, reason = consortium.consented_person("bank-1", multi_lender)

    with member_session(consortium.settings["bank-1"]) as session:
        outcome = session.subject_checks().check_one(SubjectRequest(person["resident_id"], consent), reason)
        epoch, (token,) = session.tokeniser.tokenise(TokenType.RESIDENT_ID, [person["resident_id"]])

    expected = expected_answer(consortium, "bank-1", token, epoch, outcome.answer.coverage)
    # Independent of the profiler: the synthetic ground truth says who holds the person.
    holders = {h["member_id"] for h in person["holdings"]} - {"bank-1"}
    assert outcome.answer.institutions_holding == BUCKETS.labels[BUCKETS.index(len(holders))]
    assert outcome.answer.status is CheckStatus.HIT
    assert outcome.answer == expected
    assert outcome.answer.coverage.members_answered == 4
    assert outcome.own is not None and outcome.own.institutions_holding == "1"


def test_the_querier_records_its_inquiry_and_the_bureau_only_who_why_and_when(consortium: Consortium) -> None:
    person, consent, reason = consortium.consented_person("bank-2", multi_lender)

    with member_session(consortium.settings["bank-2"]) as session:
        session.subject_checks().check_one(SubjectRequest(person["resident_id"], consent), reason)
        _epoch, (token,) = session.tokeniser.tokenise(TokenType.RESIDENT_ID, [person["resident_id"]])

    store = open_store(consortium.settings["bank-2"].store_url)
    with store.transaction() as db:
        recorded = db.execute(
            sa.select(Inquiry.subject_token, Inquiry.reason_code, Inquiry.consent_ref)
        ).all()
    store.close()
    assert [(row.subject_token, row.reason_code, row.consent_ref) for row in recorded] == [
        (token, reason, consent)
    ]
    bureau_entry = [
        e for e in AuditLog(consortium.bureau.store).entries() if e.action == "subject_check.query"
    ][-1]
    assert (bureau_entry.actor_member_id, bureau_entry.reason) == ("bank-2", reason.value)
    assert token.hex() not in str(bureau_entry.details) and person["resident_id"] not in str(
        bureau_entry.details
    )


def test_a_check_is_audited_once_at_the_bureau_and_once_at_each_member(consortium: Consortium) -> None:
    """The router's entry stands for the bureau's stream; a member's finalization is in its round state."""
    person, consent, reason = consortium.consented_person("bank-3", multi_lender)
    since = {m: len(AuditLog(node.store).entries()) for m, node in consortium.members.items()}
    bureau_since = len(AuditLog(consortium.bureau.store).entries())

    with member_session(consortium.settings["bank-3"]) as session:
        outcome = session.subject_checks().check_one(SubjectRequest(person["resident_id"], consent), reason)

    bureau = [e.action for e in AuditLog(consortium.bureau.store).entries()[bureau_since:]]
    assert bureau.count("subject_check.query") == 1
    assert "credgate.v1.BureauService/SubjectCheck" not in bureau
    answering = outcome.answer.coverage.members_answered + 1  # the querier's node answers too
    actions = [
        e.action for m, node in consortium.members.items() for e in AuditLog(node.store).entries()[since[m] :]
    ]
    assert actions.count("subject_check.answer") == answering
    assert "credgate.v1.MemberService/ComputeSubjectVectors" not in actions
    assert "credgate.v1.MemberService/FinalizeSubjectRound" not in actions


def test_a_repeated_check_the_same_day_is_answered_from_the_cache_even_with_a_member_gone(
    consortium: Consortium,
) -> None:
    person, consent, reason = consortium.consented_person("bank-1", multi_lender)
    subject = SubjectRequest(person["resident_id"], consent)
    with member_session(consortium.settings["bank-1"]) as session:
        first = session.subject_checks().check_one(subject, reason)
        consortium.members["bank-3"].server.stop(0)
        second = session.subject_checks().check_one(subject, reason)

    assert second.answer == first.answer
    cached = [e for e in AuditLog(consortium.bureau.store).entries() if e.action == "subject_check.query"][-1]
    assert cached.details["cached_rows"] == 1


def test_the_queriers_own_decision_is_audited_without_the_subject(consortium: Consortium) -> None:
    person, consent, reason = consortium.consented_person("bank-3", multi_lender)

    with member_session(consortium.settings["bank-3"]) as session:
        session.subject_checks().check_one(SubjectRequest(person["resident_id"], consent), reason)
        entry = [e for e in AuditLog(session.store).entries() if e.action == "subject_check.request"][-1]

    assert (entry.actor_member_id, entry.decision.value, entry.reason) == ("bank-3", "allow", reason.value)
    assert entry.details == {"hit": 1}
    assert person["resident_id"] not in str(entry)

"""A subject check across the consortium: answered, correct, recorded."""

from __future__ import annotations

from gateway.node.session import member_session
from gateway.queries.subject_check.answer import CheckStatus
from gateway.queries.subject_check.querier import SubjectRequest

from .conftest import Consortium


def test_a_lender_learns_how_many_other_lenders_hold_a_subject(consortium: Consortium) -> None:
    person, consent, reason = consortium.consented_person(
        "bank-1", lambda p: len({h["member_id"] for h in p["holdings"] if h["account_refs"]}) >= 3
    )

    with member_session(consortium.settings["bank-1"]) as session:
        outcome = session.subject_checks().check_one(SubjectRequest(person["resident_id"], consent), reason)

    print(outcome)
    assert outcome.answer.status is CheckStatus.HIT

"""Operating the subject check (issue #17 items 1, 4, 9 and 11), each shown to fail before.

* revoking a member leaves it out instead of stopping every check (it raised
  "key bundle … failed verification" for every querier), and the directory stops listing it;
* concurrent checks of one subject by one querier all answer, once each in the bureau's
  audit (19 of 30 failed with INTERNAL on the cache's UNIQUE constraint);
* an OPRF key rotation keeps both epochs answering through its grace period
  (``credgate tokenise`` did nothing after a rotation and every check said no_match).
"""

from __future__ import annotations

import datetime as dt
import json
from concurrent.futures import ThreadPoolExecutor

from gateway.bureau.oprf import SCHEDULE_FILE, rotate_with_grace
from gateway.clock import system_clock
from gateway.crypto.keys import retire_node_keys
from gateway.identity.ca import CertificateAuthority
from gateway.node.book_tokens import tokenise_book
from gateway.node.runtime import oprf_key_folder, start_member
from gateway.node.session import member_session
from gateway.queries.subject_check.answer import CheckStatus
from gateway.queries.subject_check.querier import SubjectRequest
from gateway.store import open_store
from gateway.store.enums import TokenType
from gateway.store.repositories.audit import AuditLog

from .conftest import Consortium
from .test_privacy import multi_lender


def test_a_revoked_member_is_left_out_and_checks_go_on(
    consortium: Consortium, authority: CertificateAuthority
) -> None:
    person, consent, reason = consortium.consented_person("bank-1", multi_lender)
    authority.revoke(member_id="agency-1", now=system_clock())

    with member_session(consortium.settings["bank-1"]) as session:
        outcome = session.subject_checks().check_one(SubjectRequest(person["resident_id"], consent), reason)
        listed = set(session.pins().refresh())

    assert outcome.answer.status in {CheckStatus.HIT, CheckStatus.NO_MATCH}
    assert outcome.answer.coverage.members_answered == 3
    assert outcome.answer.coverage.consortium_members == 3
    assert "agency-1" not in listed


def test_concurrent_checks_of_one_subject_all_answer_and_are_all_audited(consortium: Consortium) -> None:
    person, consent, reason = consortium.consented_person("bank-1", multi_lender)

    def check(_: int) -> object:
        with member_session(consortium.settings["bank-1"]) as session:
            return (
                session.subject_checks()
                .check_one(SubjectRequest(person["resident_id"], consent), reason)
                .answer
            )

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(check, range(8)))
    store = open_store(consortium.bureau.settings.store_url)
    try:
        audited = [e for e in AuditLog(store).entries() if e.action == "subject_check.query"]
    finally:
        store.close()

    assert all(answer == answers[0] for answer in answers)
    assert [e.decision.value for e in audited] == ["allow"] * 8


def test_both_key_epochs_answer_through_a_rotations_grace_period(consortium: Consortium) -> None:
    person, consent, reason = consortium.consented_person("bank-1", multi_lender)
    folder = oprf_key_folder(consortium.bureau.settings)
    new_epoch, _ = rotate_with_grace(folder, grace=dt.timedelta(hours=24), now=system_clock())
    for settings in consortium.settings.values():  # every member runs `credgate tokenise`
        with member_session(settings) as session:
            assert tokenise_book(session.store, session.tokeniser, now=system_clock())[0] == new_epoch
    with member_session(consortium.settings["bank-1"]) as session:
        during = session.subject_checks().check_one(SubjectRequest(person["resident_id"], consent), reason)

    # The grace period ends (the schedule says so): the new epoch serves.
    schedule = folder / SCHEDULE_FILE
    schedule.write_text(json.dumps({str(new_epoch): (system_clock() - dt.timedelta(minutes=1)).isoformat()}))
    with member_session(consortium.settings["bank-2"]) as session:
        epoch, _ = session.tokeniser.tokenise(TokenType.RESIDENT_ID, [person["resident_id"]])
    other, other_consent, other_reason = consortium.consented_person(
        "bank-1", lambda p: multi_lender(p) and p["resident_id"] != person["resident_id"]
    )
    with member_session(consortium.settings["bank-1"]) as session:
        after = session.subject_checks().check_one(
            SubjectRequest(other["resident_id"], other_consent), other_reason
        )

    assert epoch == new_epoch
    assert during.answer.status is CheckStatus.HIT
    assert after.answer.status is CheckStatus.HIT


def test_a_members_rotated_node_keys_are_accepted_by_its_peers_and_audited(consortium: Consortium) -> None:
    person, consent, reason = consortium.consented_person("bank-1", multi_lender)
    with member_session(consortium.settings["bank-1"]) as session:
        before = session.pins().refresh()["bank-3"].bundle.hpke_public_key
    node = consortium.members["bank-3"]
    node.stop()
    retire_node_keys(node.settings.data_dir / "keys", suffix="rotated")
    restarted = start_member(node.settings)
    consortium.members["bank-3"] = restarted
    assert restarted.link is not None and restarted.link.registered.wait(15)

    with member_session(consortium.settings["bank-1"]) as session:
        # all_members waits for the new keys to reach a trusted key-log checkpoint (issue #12).
        after = session.pins().all_members()["bank-3"].bundle.hpke_public_key
        outcome = session.subject_checks().check_one(SubjectRequest(person["resident_id"], consent), reason)
        audited = [e.action for e in AuditLog(session.store).entries()]

    assert after != before
    assert "peers.pin.rotated_keys" in audited
    assert outcome.answer.coverage.members_answered == 4

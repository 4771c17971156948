"""A lender choosing recipients and switching reasons (finding 5); a relaying member choosing
the key and the bureau swapping it (finding 6)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from integration.subject_check.test_rounds import _load, _subject_id, _write_book

from gateway.crypto.keys import KeyPair
from gateway.crypto.signatures import sign_with_tls_key
from gateway.errors import GatewayError, PolicyDenied, RateLimited
from gateway.node.session import member_session
from gateway.node.subject_access import relay_request
from gateway.queries.inquiries.collector import CollectRequest
from gateway.queries.inquiries.statement import SIGNATURE_LABEL, AccessStatement
from gateway.queries.subject_check.querier import SubjectRequest
from gateway.rpc.fanout import GrpcInquiryCaller, MemberChannels
from gateway.store import open_store
from gateway.store.enums import ReasonCode
from gateway.store.repositories.audit import AuditLog

from .conftest import People, World, fresh_time


def test_the_bureau_refuses_a_chunk_that_leaves_an_active_member_out(world: World, people: People) -> None:
    person, consent, reason = people.take("bank-1")
    with member_session(world.settings["bank-1"]) as session:
        client = session.subject_checks()
        pins = client._peers
        everyone = pins.all_members
        # The lender seals to everyone but bank-2, hoping to difference bank-2's row out.
        pins.all_members = lambda: {m: k for m, k in everyone().items() if m != "bank-2"}  # type: ignore[method-assign]
        pins.refresh = pins.all_members  # type: ignore[method-assign]
        with pytest.raises(GatewayError) as refused:
            client.check_one(SubjectRequest(person["resident_id"], consent), reason)

    assert refused.value.reason == "not_sealed_to_every_member"


def test_a_second_reason_the_same_day_gets_the_cached_answer(world: World, tmp_path: Path) -> None:
    _load(
        world,
        "bank-1",
        _write_book(tmp_path / "q", with_account=False, consents=("loan_approval", "credit_review")),
    )
    _load(world, "bank-2", _write_book(tmp_path / "b2", with_account=True))
    with member_session(world.settings["bank-1"]) as session:
        first = session.subject_checks().check_one(
            SubjectRequest(_subject_id(), "X-C-loan_approval"), ReasonCode.LOAN_APPROVAL
        )
        second = session.subject_checks().check_one(
            SubjectRequest(_subject_id(), "X-C-credit_review"), ReasonCode.CREDIT_REVIEW
        )
    queries = [m for m in world.bureau_recorder.messages(method="SubjectCheck", direction="sent")][-2:]

    assert second.answer == first.answer
    # The second answer is the first round's row, whatever the reason: no new round ran.
    assert queries[1].rounds[0].request_hash == queries[0].rounds[0].request_hash


def _relayers_recorded_at(world: World, member_id: str) -> list[object]:
    store = open_store(world.settings[member_id].store_url)
    try:
        return [
            e.details.get("relayer")
            for e in AuditLog(store).entries()
            if e.action == "subject_inquiries.answer" and e.decision.value == "allow"
        ]
    finally:
        store.close()


def test_a_relaying_member_is_bounded_and_leaves_its_signature_everywhere(
    world: World, people: People
) -> None:
    """bank-3 relays "subject access" with keys of its own: allowed a few times a day, recorded by all."""
    caller = GrpcInquiryCaller(MemberChannels(world.bureau_identity(), egress=None), clock=fresh_time)
    views = world.member_views()
    answered, refusals = 0, []
    with member_session(world.settings["bank-3"]) as session:
        for attempt in range(6):
            person, _, _ = people.take("bank-3")
            request = relay_request(
                session, person["resident_id"], KeyPair.generate().public_key, f"FAKE-{attempt}"
            )
            sealed = next(s for s in request.sealed if s.recipient == "bank-1")
            # The bureau, colluding, forwards straight to bank-1 past its own rate limit.
            try:
                caller.collect(
                    views["bank-1"],
                    CollectRequest(request.statement, request.signature, request.subject_public_key, sealed),
                    timeout=30,
                )
                answered += 1
            except RateLimited as exc:
                refusals.append(exc.reason)

    assert answered == 4  # policies: max_per_relayer_per_day (4 in this consortium)
    assert refusals == ["subject_access_limit", "subject_access_limit"]
    assert _relayers_recorded_at(world, "bank-1").count("bank-3") == 4


def test_the_bureau_cannot_swap_the_subject_key_or_forge_a_relayer(world: World, people: People) -> None:
    caller = GrpcInquiryCaller(MemberChannels(world.bureau_identity(), egress=None), clock=fresh_time)
    views = world.member_views()
    person, _, _ = people.take("cfc-1")
    with member_session(world.settings["agency-1"]) as session:
        request = relay_request(session, person["resident_id"], KeyPair.generate().public_key, "REQ-SWAP")
    sealed = next(s for s in request.sealed if s.recipient == "bank-1")
    bureau_key = KeyPair.generate().public_key
    statement = AccessStatement.from_bytes(request.statement)
    forged = dataclasses.replace(statement, subject_public_key=bureau_key)
    bureau_signature = sign_with_tls_key(
        SIGNATURE_LABEL, forged.to_bytes(), world.bureau_identity().key_pem, field="tls_key"
    )
    attempts = {
        "swapped key": CollectRequest(request.statement, request.signature, bureau_key, sealed),
        "restated key, bureau's signature": CollectRequest(
            forged.to_bytes(), bureau_signature, bureau_key, sealed
        ),
        "as the bureau itself": CollectRequest(
            dataclasses.replace(forged, relayer="bureau").to_bytes(), bureau_signature, bureau_key, sealed
        ),
    }
    refused = []
    for name, attempt in attempts.items():
        with pytest.raises(PolicyDenied):
            caller.collect(views["bank-1"], attempt, timeout=30)
        refused.append(name)

    assert refused == list(attempts)

"""Reason, consent, entrustment and reciprocity decide who may check; refusals record nothing."""

from __future__ import annotations

import datetime as dt
import os

import grpc
import pytest
import sqlalchemy as sa

from gateway._proto.credgate.v1 import bureau_pb2_grpc
from gateway.clock import local_date, system_clock
from gateway.errors import PolicyDenied
from gateway.node.session import member_session
from gateway.queries.subject_check.answer import CheckStatus
from gateway.queries.subject_check.messages import CheckChunk, SealedFor
from gateway.queries.subject_check.querier import SubjectRequest
from gateway.rpc.convert.subject_check import chunk_to_proto
from gateway.store import open_store
from gateway.store.enums import ReasonCode
from gateway.store.models import Account, Borrower, Consent, Inquiry

from .conftest import Consortium, valid_consents


def inquiries_at(world: Consortium, member_id: str) -> int:
    store = open_store(world.settings[member_id].store_url)
    try:
        with store.transaction() as session:
            return int(session.scalar(sa.select(sa.func.count()).select_from(Inquiry)) or 0)
    finally:
        store.close()


def test_a_check_without_the_subjects_consent_is_refused_before_anything_is_sent(
    consortium: Consortium,
) -> None:
    resident_id, _ = valid_consents(consortium, "bank-1", ReasonCode.LOAN_APPROVAL)[0]

    with (
        member_session(consortium.settings["bank-1"]) as session,
        pytest.raises(PolicyDenied, match="consent"),
    ):
        session.subject_checks().check_one(
            SubjectRequest(resident_id, "NO-SUCH-CONSENT"), ReasonCode.LOAN_APPROVAL
        )

    assert inquiries_at(consortium, "bank-1") == 0
    assert not consortium.bureau_recorder.messages(method="SubjectCheck")


def test_a_consent_for_another_purpose_or_expired_does_not_count(consortium: Consortium) -> None:
    resident_id, consent = valid_consents(consortium, "bank-1", ReasonCode.LOAN_APPROVAL)[0]
    with member_session(consortium.settings["bank-1"]) as session:
        client = session.subject_checks()
        with pytest.raises(PolicyDenied):
            client.check_one(SubjectRequest(resident_id, consent), ReasonCode.POST_LOAN_MANAGEMENT)
        with session.store.transaction() as db:
            db.execute(
                sa.update(Consent)
                .where(Consent.consent_ref == consent)
                .values(expires_on=local_date(system_clock()) - dt.timedelta(days=1))
            )
        with pytest.raises(PolicyDenied):
            client.check_one(SubjectRequest(resident_id, consent), ReasonCode.LOAN_APPROVAL)

    assert inquiries_at(consortium, "bank-1") == 0


def test_an_agency_checks_only_entrusted_accounts_for_collection(consortium: Consortium) -> None:
    resident_id, consent = valid_consents(consortium, "agency-1", ReasonCode.COLLECTION_CASE_CHECK)[0]
    subject = SubjectRequest(resident_id, consent)
    with member_session(consortium.settings["agency-1"]) as session:
        client = session.subject_checks()
        answered = client.check_one(subject, ReasonCode.COLLECTION_CASE_CHECK)
        with session.store.transaction() as db:
            borrower = db.scalar(sa.select(Borrower.id).where(Borrower.resident_id == resident_id))
            db.execute(
                sa.update(Account)
                .where(Account.borrower_id == borrower)
                .values(entrustment_expires_on=local_date(system_clock()) - dt.timedelta(days=1))
            )
        with pytest.raises(PolicyDenied, match="entrustment"):
            client.check_one(subject, ReasonCode.COLLECTION_CASE_CHECK)

    assert answered.answer.status in {CheckStatus.HIT, CheckStatus.NO_MATCH}
    assert inquiries_at(consortium, "agency-1") == 1


def test_the_bureau_refuses_a_reason_the_role_may_not_use(consortium: Consortium) -> None:
    chunk = CheckChunk(
        idempotency_key=os.urandom(16),
        reason=ReasonCode.LOAN_APPROVAL,
        consent_digest=bytes(32),
        chunk_index=0,
        last_chunk=True,
        subject_count=1,
        sealed=(SealedFor("agency-1", bytes(32), bytes(48)),),
        dedup_tags=(bytes(32),),
        secret_epoch=1,
    )
    with member_session(consortium.settings["agency-1"]) as session:
        stub = bureau_pb2_grpc.BureauServiceStub(session.channel)
        with pytest.raises(grpc.RpcError) as refused:
            list(stub.SubjectCheck(iter([chunk_to_proto(chunk, layout_version=1)]), timeout=10))

    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "subject_check.query is not permitted for role agency" in (refused.value.details() or "")
    assert not consortium.member_recorders["bank-1"].messages(method="ComputeSubjectVectors")

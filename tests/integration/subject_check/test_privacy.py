"""Each party playing curious learns only what the design allows (issue #3's privacy promises)."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from google.protobuf.message import Message

from gateway._proto.credgate.v1 import subject_check_pb2
from gateway.aggregation import encode, query_mask, self_mask
from gateway.aggregation.field import sub
from gateway.config import default_policies_dir
from gateway.node.session import member_session
from gateway.queries.subject_check.layout import SEGMENTS
from gateway.queries.subject_check.profile import ProfileQuery, SubjectProfiler
from gateway.queries.subject_check.querier import SubjectRequest
from gateway.queries.subject_check.settings import SubjectCheckSettings
from gateway.store import open_store
from gateway.store.enums import TokenType
from gateway.store.models import Inquiry
from gateway.store.repositories.audit import AuditLog
from gateway.store.repositories.checks import CheckRounds

from .conftest import MEMBERS, Consortium

SETTINGS = SubjectCheckSettings.from_directory(default_policies_dir())


def multi_lender(person: dict[str, object]) -> bool:
    holdings = person["holdings"]
    assert isinstance(holdings, list)
    return len({h["member_id"] for h in holdings if h["account_refs"]}) >= 3


def run_check(world: Consortium, querier: str) -> tuple[dict[str, object], bytes, int]:
    person, consent, reason = world.consented_person(querier, multi_lender)
    with member_session(world.settings[querier]) as session:
        session.subject_checks().check_one(SubjectRequest(person["resident_id"], consent), reason)
        epoch, (token,) = session.tokeniser.tokenise(TokenType.RESIDENT_ID, [person["resident_id"]])
    return person, token, epoch


def wire(messages: list[Message]) -> list[bytes]:
    return [m.SerializeToString() for m in messages]


def true_rows(
    world: Consortium,
    member_id: str,
    token: bytes,
    epoch: int,
    request: subject_check_pb2.ComputeSubjectVectorsRequest,
) -> np.ndarray:
    segment_map = {s: type(s)(v) for s, v in zip(SEGMENTS, request.segment_map, strict=True)}
    store = open_store(world.settings[member_id].store_url)
    try:
        profiler = SubjectProfiler(store, role=MEMBERS[member_id], settings=SETTINGS)
        return profiler.rows(
            ProfileQuery([token], epoch, request.header.query_time.ToDatetime(dt.UTC), segment_map)
        )
    finally:
        store.close()


def test_the_bureau_never_holds_an_id_a_clear_token_or_an_unmasked_vector(
    consortium: Consortium, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    person, token, epoch = run_check(consortium, "bank-1")
    resident_id = str(person["resident_id"]).encode()

    received = wire(consortium.bureau_recorder.messages(direction="received"))
    from_members = {
        m: r.messages(method="ComputeSubjectVectors", direction="sent")
        for m, r in consortium.member_recorders.items()
    }
    requests = {
        m: r.messages(method="ComputeSubjectVectors", direction="received")
        for m, r in consortium.member_recorders.items()
    }
    database = b"".join(p.read_bytes() for p in Path(consortium.bureau.settings.data_dir).glob("store.db*"))

    for blob in [
        *received,
        *wire([m for ms in from_members.values() for m in ms]),
        database,
        caplog.text.encode(),
    ]:
        assert resident_id not in blob
        assert token not in blob and token.hex().encode() not in blob
    for member_id, responses in from_members.items():
        if not responses:
            continue
        request, response = requests[member_id][0], responses[0]
        rows = np.array(response.rows.values, dtype=np.uint64).reshape(1, -1)
        truth = encode(true_rows(consortium, member_id, token, epoch, request))
        seed = CheckRounds(open_store(consortium.settings["bank-1"].store_url)).seeds([request.request_hash])
        querier_mask = query_mask(
            seed[request.request_hash],
            request_hash=request.request_hash,
            attempt=request.header.attempt,
            answering_set_hash=request.answering_set_hash,
            shape=rows.shape,
        )
        finalized = consortium.member_recorders[member_id].messages(
            method="FinalizeSubjectRound", direction="sent"
        )
        own_mask = self_mask(finalized[0].self_mask_seed, rows.shape)
        assert not np.array_equal(rows, truth), f"{member_id} sent its vector unmasked"
        # The bureau (which learns the self-mask seed) and the querier together remove the
        # querier's mask and the self-mask: the pairwise masks remain.
        assert not np.array_equal(sub(sub(rows, querier_mask), own_mask), truth), (
            f"{member_id}'s vector opened by two parties"
        )


def test_the_bureau_alone_cannot_open_the_sum(consortium: Consortium) -> None:
    run_check(consortium, "bank-1")
    sent = consortium.bureau_recorder.messages(method="SubjectCheck", direction="sent")[-1]
    masked = np.array(sent.masked_sums.values, dtype=np.uint64)

    # A masked sum is uniform modulo p = 2^61 - 1: all of its entries stay below 2^40 with
    # probability (2^40 / p)^n < 10^-300 for its n > 50 entries; an unmasked sum always does.
    assert masked.size > 50 and masked.max() > 2**40


def test_responders_never_learn_who_asked_or_why(consortium: Consortium) -> None:
    seen = {}
    for querier in ("bank-1", "bank-2"):
        for recorder in consortium.member_recorders.values():
            recorder.records.clear()
        run_check(consortium, querier)
        request = consortium.member_recorders["cfc-1"].messages(
            method="ComputeSubjectVectors", direction="received"
        )[-1]
        seen[querier] = request

    fields = set(subject_check_pb2.ComputeSubjectVectorsRequest.DESCRIPTOR.fields_by_name)
    assert not fields & {"reason", "querier", "querier_member_id", "consent_digest"}
    # Everything a responder receives that is not fresh randomness is the same whoever asked.
    assert seen["bank-1"].answering_member_ids == seen["bank-2"].answering_member_ids
    assert seen["bank-1"].segment_map == seen["bank-2"].segment_map
    for member_id in ("bank-3", "cfc-1", "agency-1"):
        for blob in wire(consortium.member_recorders[member_id].messages(direction="received")):
            assert b"post_loan_management" not in blob and b"loan_approval" not in blob
        store = open_store(consortium.settings[member_id].store_url)
        with store.transaction() as db:
            assert db.scalar(sa.select(sa.func.count()).select_from(Inquiry)) == 0
        actors = {
            e.actor_member_id
            for e in AuditLog(store).entries()
            if e.action.startswith("credgate.v1.MemberService")
        }
        store.close()
        assert actors == {"bureau"}

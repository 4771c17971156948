"""Canary: known PII seeded in members' books never appears in any message that leaves a node.

Every server records each message it receives and sends (the plaintext protobuf,
before TLS); every RPC type of the current contract is exercised; every plaintext
field (strings and integers — ciphertexts and masks are random bytes and would
match by chance) is searched for the seeded values in many encodings. A switch that
lets one seeded value through must make the scan find it: that proves it can fail.
"""

from __future__ import annotations

import base64
import time
import unicodedata

import pytest
import sqlalchemy as sa
from google.protobuf.message import Message
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from gateway.config import default_policies_dir
from gateway.crypto.keys import KeyPair
from gateway.egress.index import ExactMatchIndex
from gateway.egress.schema import CHECKS, EgressSchema
from gateway.identity.peer import Role
from gateway.node import bureau_link
from gateway.node.bureau_calls import request_inquiries
from gateway.node.session import member_session
from gateway.queries.inquiries.collector import CollectRequest
from gateway.queries.reports.client import RegulatorClient
from gateway.queries.subject_check.querier import SubjectRequest
from gateway.store import open_store
from gateway.store.enums import ReasonCode, TokenType
from gateway.store.models import Borrower

from ..reports.conftest import PERIOD
from .conftest import Consortium, valid_consents

SCHEMA = EgressSchema.from_directory(default_policies_dir())


def seeds(world: Consortium, member_id: str, count: int = 25) -> list[str]:
    store = open_store(world.settings[member_id].store_url)
    with store.transaction() as session:
        rows = session.execute(
            sa.select(Borrower.resident_id, Borrower.mobile, Borrower.name).limit(count)
        ).all()
    store.close()
    return [value for row in rows for value in row]


def encodings(value: str) -> set[str]:
    full_width = "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c for c in value)
    return {
        value,
        value.lower(),
        full_width,
        " ".join(value),
        "-".join([value[:3], value[3:7], value[7:]]),
        base64.b64encode(value.encode()).decode(),
        value.encode().hex(),
    }


def plaintext_values(message: Message) -> list[str]:
    found: list[str] = []
    for field, value in message.ListFields():
        items = list(value) if field.is_repeated else [value]
        kind = SCHEMA.kind(message.DESCRIPTOR.full_name, field.name)
        if kind == "message" or (kind is None and items and isinstance(items[0], Message)):
            for item in items:
                found += plaintext_values(item)
        elif kind is not None and kind in CHECKS and CHECKS[kind][1]:
            found += [unicodedata.normalize("NFC", str(item)) for item in items]
    return found


def leaks(world: Consortium, seeded: list[str]) -> list[str]:
    recorders = [world.bureau_recorder, *world.member_recorders.values()]
    values = [v for r in recorders for m in r.messages() for v in plaintext_values(m)]
    forms = {form: seed for seed in seeded for form in encodings(seed)}
    return sorted({seed for value in values for form, seed in forms.items() if form in value})


def exercise_every_rpc(world: Consortium) -> None:
    """Register, heartbeat and directory ran at start-up; now tokens, checks, subject access,
    a regulator report (with the pseudonym join) and the platform services."""
    with member_session(world.settings["bank-1"]) as session:
        subjects = [
            SubjectRequest(r, c) for r, c in valid_consents(world, "bank-1", ReasonCode.LOAN_APPROVAL)[:30]
        ]
        client = session.subject_checks()
        client.check_one(subjects[0], ReasonCode.LOAN_APPROVAL)
        client.check_many(subjects, ReasonCode.LOAN_APPROVAL)
        health = health_pb2_grpc.HealthStub(session.channel)
        health.Check(health_pb2.HealthCheckRequest(), timeout=5)
        reflection = reflection_pb2_grpc.ServerReflectionStub(session.channel)
        list(
            reflection.ServerReflectionInfo(
                iter(
                    [
                        reflection_pb2.ServerReflectionRequest(list_services=""),
                        reflection_pb2.ServerReflectionRequest(
                            file_containing_symbol="credgate.v1.BureauService"
                        ),
                    ]
                ),
                timeout=5,
            )
        )
    with member_session(world.settings["cfc-1"]) as session:
        epoch, (token,) = session.tokeniser.tokenise(TokenType.RESIDENT_ID, [subjects[0].national_id])
        request_inquiries(
            session.channel,
            CollectRequest(token, epoch, KeyPair.generate().public_key),
            consent_digest=bytes(32),
        )
    regulator = world.provision("cbirc", Role.REGULATOR, bureau_address=world.bureau.address)
    with member_session(regulator) as session:
        RegulatorClient.for_session(session).request("monthly-risk", PERIOD)


def test_no_seeded_pii_leaves_any_node(consortium: Consortium) -> None:
    seeded = seeds(consortium, "bank-1") + seeds(consortium, "cfc-1")

    exercise_every_rpc(consortium)

    methods = {
        r.method.rsplit("/", 1)[-1]
        for rec in [consortium.bureau_recorder, *consortium.member_recorders.values()]
        for r in rec.records
    }
    assert {
        "Register",
        "Heartbeat",
        "GetDirectory",
        "EvaluateBlinded",
        "SubjectCheck",
        "ComputeSubjectVectors",
        "RequestSubjectInquiries",
        "CollectInquiries",
        "RequestReport",
        "ComputeReportShare",
        "ContributePseudonyms",
        "Check",
        "ServerReflectionInfo",
    } <= methods
    assert leaks(consortium, seeded) == []


def test_the_canary_catches_a_value_let_through(
    consortium: Consortium, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeded = seeds(consortium, "bank-1")
    mobile = seeded[1]
    # The switch: the guard's index forgets this node's PII, and a heartbeat carries a mobile.
    monkeypatch.setattr(ExactMatchIndex, "hits", lambda self, text: False)
    monkeypatch.setattr(bureau_link, "__version__", f"build-{mobile}")

    time.sleep(1.5)  # at least one heartbeat with the leaking version
    exercise_every_rpc(consortium)

    assert mobile in leaks(consortium, seeded)

"""Canary: known PII seeded in members' books never appears in any message that leaves a node.

Every server records each message it receives and sends (the plaintext protobuf,
before TLS); every RPC type of the current contract is exercised; every plaintext
field (strings and integers) is searched for the seeded values in many encodings, and
every bytes field (hashes, nonces, ciphertexts, keys — issue #11) for the seeded
persons' tokens and for long runs of their ID and mobile digits, as ASCII, UTF-16,
packed BCD and big-endian integers. A switch that lets one seeded value through must
make the scan find it: that proves it can fail.
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
from gateway.errors import GatewayError
from gateway.identity.peer import Role
from gateway.node import bureau_link
from gateway.node.session import member_session
from gateway.node.subject_access import relay_subject_access
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


def opaque_values(message: Message) -> list[bytes]:
    """Every bytes value of ``message``, nested messages included, whatever its declared kind."""
    found: list[bytes] = []
    for field, value in message.ListFields():
        items = list(value) if field.is_repeated else [value]
        for item in items:
            if isinstance(item, Message):
                found += opaque_values(item)
            elif isinstance(item, bytes):
                found.append(item)
    return found


def _bcd(digits: str) -> bytes | None:
    if len(digits) % 2 or not digits.isdigit():
        return None
    return bytes(int(digits[i]) << 4 | int(digits[i + 1]) for i in range(0, len(digits), 2))


def byte_forms(value: str, tokens: dict[str, bytes]) -> dict[bytes, str]:
    """Byte strings that would betray ``value`` inside an opaque field.

    False-positive bound (the scan's only statistical part): the opaque bytes recorded in
    one exercise total L ≲ 2**21 (about 2 MB, mostly ciphertexts of uniformly random bytes).
    A fixed k-byte string occurs in uniform bytes with probability ≤ L · 2**(-8k): the
    shortest forms are 7 bytes (BCD of 14 digits; a 16-digit run as a 7-byte integer;
    8-byte windows of tokens), so each form matches by chance with probability
    ≤ 2**21 · 2**-56 = 2**-35, and the ≤ 50 seeds × ≤ 120 forms give a union bound
    below 6,000 · 2**-35 ≈ 1.7e-7 (≤ 1e-6).
    """
    forms: dict[bytes, str] = {}
    digits = "".join(c for c in value if c.isdigit())
    if len(digits) >= 11:
        for width in (14, 16) if len(digits) >= 16 else (len(digits),):
            for start in range(0, len(digits) - width + 1):
                run = digits[start : start + width]
                forms[run.encode("ascii")] = value
                forms[run.encode("utf-16-le")] = value
                if (bcd := _bcd(run if len(run) % 2 == 0 else run[:-1])) is not None and len(bcd) >= 6:
                    forms[bcd] = value
                if width == 16:
                    forms[int(run).to_bytes(7, "big")] = value
    token = tokens.get(value)
    if token is not None:
        for start in range(0, len(token) - 8 + 1, 4):
            forms[token[start : start + 8]] = value
    return forms


def seeded_tokens(world: Consortium, seeded: list[str]) -> dict[str, bytes]:
    """Tokens of the seeded resident IDs, as the consortium computes them."""
    from gateway.identifiers import normalise_resident_id

    ids = []
    for value in seeded:
        try:
            ids.append((value, normalise_resident_id(value)))
        except GatewayError:
            continue
    with member_session(world.settings["bank-1"]) as session:
        _, tokens = session.tokeniser.tokenise(TokenType.RESIDENT_ID, [n for _, n in ids])
    return {value: token for (value, _), token in zip(ids, tokens, strict=True)}


def opaque_leaks(world: Consortium, seeded: list[str]) -> list[str]:
    recorders = [world.bureau_recorder, *world.member_recorders.values()]
    blobs = [b for r in recorders for m in r.messages() for b in opaque_values(m)]
    forms: dict[bytes, str] = {}
    tokens = seeded_tokens(world, seeded)
    for seed in seeded:
        forms |= byte_forms(seed, tokens)
    return sorted({seed for blob in blobs for form, seed in forms.items() if form in blob})


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
        relay_subject_access(session, subjects[0].national_id, KeyPair.generate().public_key, "CANARY-REQ")
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
        "ContributeReportVector",
        "FetchReportVector",
        "Check",
        "ServerReflectionInfo",
        "FinalizeSubjectRound",
    } <= methods
    assert leaks(consortium, seeded) == []
    assert opaque_leaks(consortium, seeded) == []


def test_the_canary_finds_an_id_or_a_token_hidden_in_a_bytes_field(
    consortium: Consortium, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeded = seeds(consortium, "bank-1")
    resident_id = seeded[3]
    token = seeded_tokens(consortium, [resident_id])[resident_id]
    from gateway.node import tokeniser
    from gateway.queries.subject_check import querier
    from gateway.rpc.convert import subject_check

    def header() -> object:
        # The switch: 16 of the 18 ID digits in the idempotency key (a "nonce").
        stamped = subject_check.new_header()
        stamped.idempotency_key = resident_id[:16].encode("ascii")
        return stamped

    monkeypatch.setattr(tokeniser, "new_header", header)
    # And a token hidden in the consent digest (a "hash").
    monkeypatch.setattr(querier, "consent_digest", lambda refs: token[:32])

    exercise_every_rpc(consortium)

    assert resident_id in opaque_leaks(consortium, [resident_id])


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

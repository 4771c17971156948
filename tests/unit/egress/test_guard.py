"""The guard blocks undeclared fields, ill-typed values and the node's own PII; it never logs a value."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway._proto.credgate.v1 import bureau_pb2, common_pb2, regulator_report_pb2, subject_check_pb2
from gateway.audit import AuditRecorder
from gateway.clock import system_clock
from gateway.config import default_policies_dir
from gateway.egress.guard import EgressBlocked, EgressGuard
from gateway.egress.index import ExactMatchIndex, candidates, variants
from gateway.egress.schema import EgressSchema
from gateway.identifiers import resident_id_check_char
from gateway.rpc.interceptors.egress import EgressAuditor
from gateway.store import open_store
from gateway.store.repositories.audit import AuditLog

SCHEMA = EgressSchema.from_directory(default_policies_dir())
SEEDED_ID = "11010519491231002X"
SEEDED_MOBILE = "13800138000"
SEEDED_NAME = "欧阳娜娜"


@pytest.fixture
def guard() -> EgressGuard:
    index = ExactMatchIndex(bytes(32))
    index.rebuild([SEEDED_ID, SEEDED_MOBILE, SEEDED_NAME])
    return EgressGuard(SCHEMA, index)


def test_a_well_formed_message_passes(guard: EgressGuard) -> None:
    guard.check(
        bureau_pb2.RegisterRequest(
            advertised_address="127.0.0.1:7443", software_version="0.1.0", protocol_version="credgate.v1"
        )
    )


@pytest.mark.parametrize(
    ("message", "field", "detector"),
    [
        (bureau_pb2.RegisterRequest(software_version="x" * 65), "software_version", "not a valid version"),
        (
            bureau_pb2.RegisterRequest(advertised_address="nowhere"),
            "advertised_address",
            "not a valid address",
        ),
        (common_pb2.SubjectToken(value=b"short"), "value", "not a valid token"),
        (
            common_pb2.SealedTokens(recipient_member_id="Bank One"),
            "recipient_member_id",
            "not a valid member_id",
        ),
        (common_pb2.MaskedMatrix(values=[2**62]), "values", "not a valid masked"),
        (regulator_report_pb2.RequestReportRequest(period="2026-13"), "period", "not a valid period"),
        (subject_check_pb2.SubjectCheckRequest(reason=7), "reason", "undefined enum value"),
    ],
)
def test_an_ill_typed_value_blocks_the_message(
    guard: EgressGuard, message: object, field: str, detector: str
) -> None:
    with pytest.raises(EgressBlocked, match=detector) as blocked:
        guard.check(message)  # type: ignore[arg-type]
    assert blocked.value.field == field


def test_an_undeclared_field_blocks_the_message() -> None:
    narrower = EgressSchema(
        {**SCHEMA.fields, "credgate.v1.HeartbeatRequest": {"software_version": "version"}}
    )
    guard = EgressGuard(narrower, ExactMatchIndex(bytes(32)))

    with pytest.raises(EgressBlocked, match=r"HeartbeatRequest\.blacklist_listings: undeclared field"):
        guard.check(bureau_pb2.HeartbeatRequest(software_version="1", blacklist_listings=3))


@pytest.mark.parametrize(
    "value",
    [
        SEEDED_MOBILE,
        "+86 138-0013-8000",
        "１３８００１３８０００",
        "v" + SEEDED_MOBILE,
        SEEDED_ID.lower(),
        "110105 19491231 002X",
        "110105491231002",
        SEEDED_NAME,
    ],
)
def test_the_nodes_own_pii_is_blocked_in_any_form(guard: EgressGuard, value: str) -> None:
    with pytest.raises(EgressBlocked, match="exact-match index"):
        guard.check(bureau_pb2.HeartbeatRequest(software_version=value[:64]))


def test_an_integer_field_holding_a_mobile_is_blocked(guard: EgressGuard) -> None:
    with pytest.raises(EgressBlocked, match="exact-match index"):
        guard.check(common_pb2.BucketCount(bucket="3-5", count=int(SEEDED_MOBILE)))


def test_opaque_bytes_are_not_scanned(guard: EgressGuard) -> None:
    guard.check(
        common_pb2.SealedTokens(
            recipient_member_id="bank-1", enc=SEEDED_MOBILE.encode() * 3, ciphertext=SEEDED_ID.encode()
        )
    )


def test_a_block_is_audited_with_type_field_and_detector_but_no_value(
    guard: EgressGuard, tmp_path: Path
) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    auditor = EgressAuditor(
        AuditRecorder(AuditLog(store), node_id="bank-1", clock=system_clock),
        node_id="bank-1",
        node_role="bank",
    )

    with pytest.raises(EgressBlocked):
        auditor.checked(guard, bureau_pb2.HeartbeatRequest(software_version=SEEDED_MOBILE), "/x/Heartbeat")

    entry = AuditLog(store).entries()[-1]
    store.close()
    assert (entry.action, entry.decision.value, entry.reason) == (
        "egress.blocked",
        "deny",
        "exact-match index",
    )
    assert entry.details == {
        "method": "/x/Heartbeat",
        "message_type": "credgate.v1.HeartbeatRequest",
        "field": "software_version",
    }
    assert SEEDED_MOBILE not in str(entry)


@given(
    st.from_regex(r"[1-9][0-9]{5}19[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|1[0-9]|2[0-8])[0-9]{3}", fullmatch=True),
    st.sampled_from(["", " ", "-"]),
)
def test_every_written_form_of_an_indexed_id_is_a_candidate_of_an_indexed_variant(
    first17: str, sep: str
) -> None:
    number = first17 + resident_id_check_char(first17)
    written = sep.join([number[:6], number[6:14], number[14:]])

    assert set(candidates(written)) & variants(number)

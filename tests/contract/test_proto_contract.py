"""The gRPC contract: lint-clean, generated code current, and no field able to carry raw PII."""

from __future__ import annotations

import filecmp
import shutil
import subprocess
import sysconfig
from pathlib import Path

import pytest
from google.protobuf.descriptor import Descriptor, FieldDescriptor

from gateway._internal.protogen import PACKAGE_DIR, PROTO_ROOT, REPO, generate
from gateway._proto.credgate.v1 import (
    bureau_pb2,
    common_pb2,
    contact_clearance_pb2,
    inquiry_history_pb2,
    member_pb2,
    models_pb2,
    regulator_report_pb2,
    subject_check_pb2,
    tokens_pb2,
)
from gateway.config import default_policies_dir
from gateway.egress.schema import EgressSchema

MODULES = (
    bureau_pb2,
    common_pb2,
    contact_clearance_pb2,
    inquiry_history_pb2,
    member_pb2,
    models_pb2,
    regulator_report_pb2,
    subject_check_pb2,
    tokens_pb2,
)

# Every string field in the contract, and why it cannot hold a national ID, phone or name.
# Adding a string field means adding it here, with a reason, and to the egress rules.
ALLOWED_STRING_FIELDS = {
    "credgate.v1.SealedTokens.recipient_member_id": "consortium member id",
    "credgate.v1.DistributeMembersSecretResponse.delivered_member_ids": "consortium member ids",
    "credgate.v1.DistributeMembersSecretResponse.failed_member_ids": "consortium member ids",
    "credgate.v1.MembersSecretEnvelope.initiator_member_id": "consortium member id",
    "credgate.v1.MembersSecretEnvelope.recipient_member_id": "consortium member id",
    "credgate.v1.RoundReference.answering_member_ids": "consortium member ids",
    "credgate.v1.ContributionProof.member_id": "consortium member id",
    "credgate.v1.BucketCount.bucket": "bucket label from the vector layout",
    "credgate.v1.SegmentWindowCount.bucket": "bucket label from the vector layout",
    "credgate.v1.RegisterRequest.advertised_address": "host:port of a node",
    "credgate.v1.PublishCheckpointRequest.publication": "signed checkpoint of a node's audit log (C2SP note)",
    "credgate.v1.GetCheckpointsResponse.publications": "signed checkpoints (C2SP notes)",
    "credgate.v1.LogPosition.origin": "transparency-log origin (credgate/audit/<member id>)",
    "credgate.v1.Cosignature.origin": "transparency-log origin (credgate/audit/<member id>)",
    "credgate.v1.Cosignature.line": "C2SP co-signature line: witness name and base64 signature",
    "credgate.v1.HeartbeatRequest.advertised_address": "host:port of a node",
    "credgate.v1.RegisterRequest.software_version": "version string",
    "credgate.v1.RegisterRequest.protocol_version": "version string",
    "credgate.v1.RegisterResponse.member_id": "consortium member id",
    "credgate.v1.HeartbeatRequest.software_version": "version string",
    "credgate.v1.DirectoryEntry.member_id": "consortium member id",
    "credgate.v1.DirectoryEntry.software_version": "version string",
    "credgate.v1.DirectoryEntry.protocol_version": "version string",
    "credgate.v1.DirectoryEntry.address": "host:port of a node",
    "credgate.v1.RequestReportRequest.template_id": "report template id from policies/",
    "credgate.v1.RequestReportRequest.period": "YYYY-MM",
    "credgate.v1.ReleasedCell.coordinates": "template dimension labels",
    "credgate.v1.ReleasedCell.suppression_reasons": "suppression reason enum value",
    "credgate.v1.ReleasedHistogram.histogram_id": "template histogram id",
    "credgate.v1.ReleasedMargin.dimensions": "template dimension names",
    "credgate.v1.RequestReportResponse.template_id": "report template id",
    "credgate.v1.RequestReportResponse.period": "YYYY-MM",
    "credgate.v1.ComputeReportShareRequest.template_id": "report template id",
    "credgate.v1.ComputeReportShareRequest.period": "YYYY-MM",
    "credgate.v1.ComputeReportShareRequest.answering_member_ids": "consortium member ids",
    "credgate.v1.ComputeReportShareRequest.regulator_member_id": "consortium member id",
    "credgate.v1.ComputeSubjectVectorsRequest.answering_member_ids": "consortium member ids",
    "credgate.v1.GetModelRequest.model_name": "model registry name",
    "credgate.v1.GetModelResponse.model_name": "model registry name",
    "credgate.v1.EntrustmentGrant.lender_member_id": "consortium member id",
    "credgate.v1.EntrustmentGrant.agency_member_id": "consortium member id",
    "credgate.v1.ContactFlagTag.scope_lender_member_id": "consortium member id",
    "credgate.v1.ContactFlagTag.agency_member_id": "consortium member id",
}
PII_WORDS = ("name", "phone", "mobile", "national", "resident", "address", "card", "email")


def all_messages() -> list[Descriptor]:
    found: list[Descriptor] = []
    for module in MODULES:
        pending = list(module.DESCRIPTOR.message_types_by_name.values())
        while pending:
            message = pending.pop()
            found.append(message)
            pending.extend(message.nested_types)
    return found


def test_generated_code_matches_the_protos(tmp_path: Path) -> None:
    generate(tmp_path)

    comparison = filecmp.dircmp(tmp_path / PACKAGE_DIR, REPO / "gateway" / "_proto" / PACKAGE_DIR)
    stale = [*comparison.diff_files, *comparison.left_only, *comparison.right_only]
    for sub in comparison.subdirs.values():
        stale += [*sub.diff_files, *sub.left_only, *[f for f in sub.right_only if f != "__pycache__"]]

    assert stale == [], "generated code is stale; run `make proto` and commit the result"


def test_protos_pass_buf_lint() -> None:
    buf = shutil.which("buf", path=sysconfig.get_path("scripts")) or shutil.which("buf")
    if buf is None:
        pytest.fail("buf is not installed (package buf-bin, a dev dependency)")

    result = subprocess.run([buf, "lint"], cwd=PROTO_ROOT, capture_output=True, text=True, check=False)

    assert result.returncode == 0, result.stdout + result.stderr


def test_every_string_field_is_declared_free_of_pii() -> None:
    strings = {
        field.full_name
        for message in all_messages()
        for field in message.fields
        if field.type == FieldDescriptor.TYPE_STRING
    }

    assert strings == set(ALLOWED_STRING_FIELDS)


def test_no_field_is_named_after_personal_data() -> None:
    suspicious = [
        field.full_name
        for message in all_messages()
        for field in message.fields
        if any(word in field.name for word in PII_WORDS) and field.full_name not in ALLOWED_STRING_FIELDS
    ]

    assert suspicious == []


def test_every_query_request_carries_the_header() -> None:
    fabric = {
        "RegisterRequest",
        "HeartbeatRequest",
        "GetDirectoryRequest",
        # Transparency-log plumbing: signed checkpoints and key-log leaves, no query.
        "PublishCheckpointRequest",
        "GetCheckpointsRequest",
        "AddCosignaturesRequest",
        "GetKeyLogEntriesRequest",
        "ConfirmKeyRotationRequest",
    }
    requests = [m for m in all_messages() if m.name.endswith("Request") and m.name not in fabric]
    missing = [m.full_name for m in requests if "header" not in m.fields_by_name]

    assert missing == []


def test_subjects_travel_only_as_tokens_or_ciphertexts() -> None:
    check_fields = subject_check_pb2.SubjectCheckRequest.DESCRIPTOR.fields_by_name
    header = common_pb2.RequestHeader.DESCRIPTOR.fields_by_name

    assert check_fields["sealed"].message_type.name == "SealedTokens"
    assert {"idempotency_key", "query_time", "vector_layout_version", "algorithms", "attempt"} <= set(header)
    assert {"type", "key_epoch", "value"} == set(common_pb2.SubjectToken.DESCRIPTOR.fields_by_name)


def test_every_field_of_the_contract_is_declared_in_the_egress_allow_list() -> None:
    schema = EgressSchema.from_directory(default_policies_dir())
    contract = {(m.full_name, f.name) for m in all_messages() for f in m.fields}
    declared = {(m, f) for m, fields in schema.fields.items() if m.startswith("credgate.") for f in fields}

    assert contract - declared == set(), "declare new fields and their kind in policies/egress.toml"
    assert declared - contract == set(), "policies/egress.toml names fields the contract does not have"

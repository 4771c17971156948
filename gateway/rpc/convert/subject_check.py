"""``credgate.v1`` subject-check messages ⇄ domain values."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping

import numpy as np
import numpy.typing as npt
from google.protobuf.timestamp_pb2 import Timestamp

from gateway._proto.credgate.v1 import common_pb2, subject_check_pb2
from gateway.errors import InvalidInputError
from gateway.queries.subject_check.layout import SEGMENTS, AnswerSegment
from gateway.queries.subject_check.messages import (
    CheckChunk,
    ChunkResult,
    Contribution,
    ContributionProof,
    Coverage,
    FinalizeRequest,
    RoundReference,
    RoundRequest,
    SealedFor,
)
from gateway.store.enums import ReasonCode

REASONS: dict[ReasonCode, common_pb2.ReasonCode.ValueType] = {
    ReasonCode.POST_LOAN_MANAGEMENT: common_pb2.REASON_CODE_POST_LOAN_MANAGEMENT,
    ReasonCode.LOAN_APPROVAL: common_pb2.REASON_CODE_LOAN_APPROVAL,
    ReasonCode.CREDIT_CARD_APPROVAL: common_pb2.REASON_CODE_CREDIT_CARD_APPROVAL,
    ReasonCode.GUARANTEE_QUALIFICATION_REVIEW: common_pb2.REASON_CODE_GUARANTEE_QUALIFICATION_REVIEW,
    ReasonCode.PRE_GUARANTEE_REVIEW: common_pb2.REASON_CODE_PRE_GUARANTEE_REVIEW,
    ReasonCode.POST_GUARANTEE_MANAGEMENT: common_pb2.REASON_CODE_POST_GUARANTEE_MANAGEMENT,
    ReasonCode.CUSTOMER_ADMISSION_REVIEW: common_pb2.REASON_CODE_CUSTOMER_ADMISSION_REVIEW,
    ReasonCode.FINANCING_APPROVAL: common_pb2.REASON_CODE_FINANCING_APPROVAL,
    ReasonCode.CREDIT_REVIEW: common_pb2.REASON_CODE_CREDIT_REVIEW,
    ReasonCode.CREDIT_LINE_APPROVAL: common_pb2.REASON_CODE_CREDIT_LINE_APPROVAL,
    ReasonCode.COLLECTION_CASE_CHECK: common_pb2.REASON_CODE_COLLECTION_CASE_CHECK,
}
_REASON_OF = {value: reason for reason, value in REASONS.items()}
ALGORITHMS = common_pb2.AlgorithmSuite(
    oprf=common_pb2.OPRF_SUITE_RISTRETTO255_SHA512,
    hpke=common_pb2.HPKE_SUITE_X25519_SHA256_AES128GCM,
    mask_prf=common_pb2.MASK_PRF_HKDF_SHA256_AES128CTR,
)


def new_header() -> common_pb2.RequestHeader:
    """A first-attempt header with a fresh idempotency key, for requests without a vector layout."""
    return common_pb2.RequestHeader(idempotency_key=os.urandom(16), algorithms=ALGORITHMS, attempt=1)


def timestamp(moment: dt.datetime) -> Timestamp:
    """A protobuf timestamp for an aware datetime."""
    stamp = Timestamp()
    stamp.FromDatetime(moment.astimezone(dt.UTC))
    return stamp


def from_timestamp(stamp: Timestamp, *, field: str) -> dt.datetime:
    """The aware UTC datetime of a peer's timestamp.

    Raises
    ------
    InvalidInputError
        When the timestamp lies outside 0001-01-01..9999-12-31 or its nanos are out of
        range (protobuf refuses it; a peer sending one gets INVALID_ARGUMENT, not INTERNAL).

    """
    try:
        return stamp.ToDatetime(dt.UTC)
    except (ValueError, OverflowError) as exc:
        raise InvalidInputError(
            f"expected a timestamp within years 1..9999, "
            f"received seconds={stamp.seconds} nanos={stamp.nanos}",
            field=field,
        ) from exc


def check_algorithms(suite: common_pb2.AlgorithmSuite) -> None:
    """Refuse a request built with algorithms this node does not speak."""
    if suite != ALGORITHMS:
        raise InvalidInputError("unsupported OPRF, HPKE or mask PRF suite", field="header.algorithms")


def sealed_to_proto(sealed: SealedFor) -> common_pb2.SealedTokens:
    """One member's envelope."""
    return common_pb2.SealedTokens(
        recipient_member_id=sealed.recipient, enc=sealed.enc, ciphertext=sealed.ciphertext
    )


def sealed_from_proto(message: common_pb2.SealedTokens) -> SealedFor:
    """One member's envelope."""
    return SealedFor(message.recipient_member_id, message.enc, message.ciphertext)


def chunk_to_proto(chunk: CheckChunk, *, layout_version: int) -> subject_check_pb2.SubjectCheckRequest:
    """The querier's request for one chunk (the bureau stamps the query time)."""
    header = common_pb2.RequestHeader(
        idempotency_key=chunk.idempotency_key,
        vector_layout_version=layout_version,
        algorithms=ALGORITHMS,
        attempt=1,
    )
    return subject_check_pb2.SubjectCheckRequest(
        header=header,
        reason=REASONS[chunk.reason],
        consent_digest=chunk.consent_digest,
        chunk_index=chunk.chunk_index,
        last_chunk=chunk.last_chunk,
        subject_count=chunk.subject_count,
        sealed=[sealed_to_proto(s) for s in chunk.sealed],
        dedup_tags=list(chunk.dedup_tags),
        secret_epoch=chunk.secret_epoch,
    )


def chunk_from_proto(request: subject_check_pb2.SubjectCheckRequest) -> CheckChunk:
    """Validate and convert the querier's request.

    Raises
    ------
    InvalidInputError
        Naming the field that is missing or malformed.

    """
    check_algorithms(request.header.algorithms)
    if len(request.header.idempotency_key) != 16:
        raise InvalidInputError("expected 16 random bytes", field="header.idempotency_key")
    if request.reason not in _REASON_OF:
        raise InvalidInputError("expected a reason code from the closed set", field="reason")
    return CheckChunk(
        idempotency_key=request.header.idempotency_key,
        reason=_REASON_OF[request.reason],
        consent_digest=request.consent_digest,
        chunk_index=request.chunk_index,
        last_chunk=request.last_chunk,
        subject_count=request.subject_count,
        sealed=tuple(sealed_from_proto(s) for s in request.sealed),
        dedup_tags=tuple(request.dedup_tags),
        secret_epoch=request.secret_epoch,
    )


def matrix_to_proto(rows: npt.NDArray[np.uint64], *, layout_version: int) -> common_pb2.MaskedMatrix:
    """Row-major masked matrix."""
    count, width = rows.shape if rows.size else (0, 0)
    return common_pb2.MaskedMatrix(
        layout_version=layout_version, rows=count, columns=width, values=rows.reshape(-1).tolist()
    )


def matrix_from_proto(matrix: common_pb2.MaskedMatrix, *, rows: int, columns: int) -> npt.NDArray[np.uint64]:
    """Check the announced and the expected shape, then return the matrix.

    Raises
    ------
    InvalidInputError
        When the shape is not ``rows × columns``.

    """
    if (matrix.rows, matrix.columns) != (rows, columns) or len(matrix.values) != rows * columns:
        raise InvalidInputError(
            f"expected a {rows}×{columns} matrix, received {matrix.rows}×{matrix.columns} "
            f"with {len(matrix.values)} values",
            field="rows",
        )
    return np.array(matrix.values, dtype=np.uint64).reshape(rows, columns)


def segment_map_to_proto(
    segment_map: Mapping[AnswerSegment, AnswerSegment],
) -> list[common_pb2.Segment.ValueType]:
    """``segment_map[s-1]`` is the segment ``s`` reports under."""
    return [common_pb2.Segment.ValueType(int(segment_map[s])) for s in SEGMENTS]


def segment_map_from_proto(values: list[int]) -> dict[AnswerSegment, AnswerSegment]:
    """Inverse of :func:`segment_map_to_proto`."""
    if len(values) != len(SEGMENTS) or any(v not in {int(s) for s in SEGMENTS} for v in values):
        raise InvalidInputError(f"expected {len(SEGMENTS)} known segments", field="segment_map")
    return {s: AnswerSegment(v) for s, v in zip(SEGMENTS, values, strict=True)}


def round_to_proto(request: RoundRequest) -> subject_check_pb2.ComputeSubjectVectorsRequest:
    """The bureau's request to one participant."""
    header = common_pb2.RequestHeader(
        idempotency_key=request.idempotency_key,
        query_time=timestamp(request.query_time),
        vector_layout_version=request.layout_version,
        algorithms=ALGORITHMS,
        attempt=request.attempt,
    )
    return subject_check_pb2.ComputeSubjectVectorsRequest(
        header=header,
        request_hash=request.request_hash,
        answering_set_hash=request.answering_set_hash,
        answering_member_ids=list(request.participants),
        chunk_index=request.chunk_index,
        last_chunk=True,
        subject_count=request.subject_count,
        sealed=sealed_to_proto(request.sealed),
        dedup_tags=list(request.dedup_tags),
        segment_map=segment_map_to_proto(request.segment_map),
        secret_epoch=request.secret_epoch,
    )


def round_from_proto(message: subject_check_pb2.ComputeSubjectVectorsRequest) -> RoundRequest:
    """Validate and convert the bureau's request."""
    check_algorithms(message.header.algorithms)
    if not message.header.HasField("query_time"):
        raise InvalidInputError("the bureau must stamp the query time", field="header.query_time")
    return RoundRequest(
        query_time=from_timestamp(message.header.query_time, field="header.query_time"),
        layout_version=message.header.vector_layout_version,
        attempt=message.header.attempt,
        request_hash=message.request_hash,
        answering_set_hash=message.answering_set_hash,
        participants=tuple(message.answering_member_ids),
        chunk_index=message.chunk_index,
        subject_count=message.subject_count,
        sealed=sealed_from_proto(message.sealed),
        idempotency_key=message.header.idempotency_key,
        dedup_tags=tuple(message.dedup_tags),
        segment_map=segment_map_from_proto(list(message.segment_map)),
        secret_epoch=message.secret_epoch,
    )


def proof_to_proto(proof: ContributionProof) -> subject_check_pb2.ContributionProof:
    """One participant's signed digest."""
    return subject_check_pb2.ContributionProof(
        member_id=proof.member_id, digest=proof.digest, signature=proof.signature
    )


def proof_from_proto(message: subject_check_pb2.ContributionProof) -> ContributionProof:
    """One participant's signed digest."""
    return ContributionProof(message.member_id, message.digest, message.signature)


def contribution_to_proto(
    contribution: Contribution, *, chunk_index: int, layout_version: int
) -> subject_check_pb2.ComputeSubjectVectorsResponse:
    """A participant's answer to one round request."""
    return subject_check_pb2.ComputeSubjectVectorsResponse(
        chunk_index=chunk_index,
        last_chunk=True,
        rows=matrix_to_proto(contribution.rows, layout_version=layout_version),
        proof=proof_to_proto(contribution.proof),
    )


def contribution_from_proto(
    message: subject_check_pb2.ComputeSubjectVectorsResponse, *, rows: int, columns: int
) -> Contribution:
    """Validate and convert a participant's answer."""
    if len(message.proof.digest) != 8 * rows:
        raise InvalidInputError(f"expected {rows} digests", field="proof.digest")
    return Contribution(
        matrix_from_proto(message.rows, rows=rows, columns=columns), proof_from_proto(message.proof)
    )


def finalize_to_proto(request: FinalizeRequest) -> subject_check_pb2.FinalizeSubjectRoundRequest:
    """The bureau's request to reveal an attempt's self-mask seed."""
    header = common_pb2.RequestHeader(
        idempotency_key=os.urandom(16),
        query_time=timestamp(request.query_time),
        algorithms=ALGORITHMS,
        attempt=request.attempt,
    )
    return subject_check_pb2.FinalizeSubjectRoundRequest(
        header=header, request_hash=request.request_hash, answering_set_hash=request.answering_set_hash
    )


def finalize_from_proto(message: subject_check_pb2.FinalizeSubjectRoundRequest) -> FinalizeRequest:
    """Validate and convert the bureau's finalize request."""
    check_algorithms(message.header.algorithms)
    if len(message.request_hash) != 32 or len(message.answering_set_hash) != 32:
        raise InvalidInputError("expected 32-byte hashes", field="request_hash")
    return FinalizeRequest(
        message.header.query_time.ToDatetime(dt.UTC),
        message.request_hash,
        message.header.attempt,
        message.answering_set_hash,
    )


def coverage_to_proto(coverage: Coverage) -> common_pb2.Coverage:
    """Coverage counts."""
    return common_pb2.Coverage(
        members_asked=coverage.members_asked,
        members_answered=coverage.members_answered,
        attempts=coverage.attempts,
        participants=coverage.participants,
        consortium_members=coverage.consortium_members,
    )


def coverage_from_proto(message: common_pb2.Coverage) -> Coverage:
    """Coverage counts."""
    return Coverage(
        message.members_asked,
        message.members_answered,
        message.attempts,
        message.participants,
        message.consortium_members,
    )


def result_to_proto(
    result: ChunkResult, *, layout_version: int, last_chunk: bool
) -> subject_check_pb2.SubjectCheckResponse:
    """The bureau's answer to one chunk."""
    status = (
        subject_check_pb2.ROUND_STATUS_COMPLETE
        if result.complete
        else subject_check_pb2.ROUND_STATUS_INSUFFICIENT_COVERAGE
    )
    rounds = [
        subject_check_pb2.RoundReference(
            request_hash=r.request_hash,
            attempt=r.attempt,
            coverage=coverage_to_proto(r.coverage),
            segment_map=segment_map_to_proto(r.segment_map),
            rows=r.rows,
            answering_member_ids=list(r.participants),
            proofs=[proof_to_proto(p) for p in r.proofs],
        )
        for r in result.rounds
    ]
    return subject_check_pb2.SubjectCheckResponse(
        chunk_index=result.chunk_index,
        last_chunk=last_chunk,
        status=status,
        coverage=coverage_to_proto(result.coverage),
        masked_sums=matrix_to_proto(result.masked_rows, layout_version=layout_version),
        rounds=rounds,
        row_round=list(result.row_round),
        row_index=list(result.row_index),
    )


def result_from_proto(
    message: subject_check_pb2.SubjectCheckResponse, *, subject_count: int, width: int
) -> ChunkResult:
    """Validate and convert the bureau's answer."""
    complete = message.status == subject_check_pb2.ROUND_STATUS_COMPLETE
    rounds = tuple(
        RoundReference(
            r.request_hash,
            r.attempt,
            coverage_from_proto(r.coverage),
            segment_map_from_proto(list(r.segment_map)),
            r.rows,
            tuple(r.answering_member_ids),
            tuple(proof_from_proto(p) for p in r.proofs),
        )
        for r in message.rounds
    )
    if complete:
        rows = matrix_from_proto(message.masked_sums, rows=subject_count, columns=width)
        if len(message.row_round) != subject_count or any(i >= len(rounds) for i in message.row_round):
            raise InvalidInputError("expected one valid round index per row", field="row_round")
        positions = zip(message.row_round, message.row_index, strict=False)
        if len(message.row_index) != subject_count or any(p >= rounds[r].rows for r, p in positions):
            raise InvalidInputError("expected one position within its round per row", field="row_index")
    else:
        rows = np.zeros((0, 0), dtype=np.uint64)
    return ChunkResult(
        message.chunk_index,
        complete,
        coverage_from_proto(message.coverage),
        rows,
        rounds,
        tuple(message.row_round),
        tuple(message.row_index),
    )

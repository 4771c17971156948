"""``credgate.v1`` inquiry-history messages ⇄ domain values."""

from __future__ import annotations

from gateway._proto.credgate.v1 import common_pb2, inquiry_history_pb2
from gateway.crypto.hpke import SealedBox
from gateway.queries.inquiries.collector import CollectRequest
from gateway.queries.inquiries.relay import RelayRequest
from gateway.rpc.convert.subject_check import check_algorithms, sealed_from_proto, sealed_to_proto


def collect_to_proto(
    request: CollectRequest, *, header: common_pb2.RequestHeader
) -> inquiry_history_pb2.CollectInquiriesRequest:
    """The bureau's request to one member."""
    return inquiry_history_pb2.CollectInquiriesRequest(
        header=header,
        subject_public_key=request.subject_public_key,
        statement=request.statement,
        statement_signature=request.signature,
        sealed=sealed_to_proto(request.sealed),
    )


def collect_from_proto(message: inquiry_history_pb2.CollectInquiriesRequest) -> CollectRequest:
    """Validate and convert the bureau's request."""
    check_algorithms(message.header.algorithms)
    return CollectRequest(
        message.statement,
        message.statement_signature,
        message.subject_public_key,
        sealed_from_proto(message.sealed),
    )


def relay_to_proto(
    request: RelayRequest, *, header: common_pb2.RequestHeader
) -> inquiry_history_pb2.RequestSubjectInquiriesRequest:
    """The relaying member's request to the bureau."""
    return inquiry_history_pb2.RequestSubjectInquiriesRequest(
        header=header,
        subject_public_key=request.subject_public_key,
        consent_digest=request.consent_digest,
        statement=request.statement,
        statement_signature=request.signature,
        sealed=[sealed_to_proto(s) for s in request.sealed],
    )


def relay_from_proto(message: inquiry_history_pb2.RequestSubjectInquiriesRequest) -> RelayRequest:
    """Validate and convert the relaying member's request."""
    check_algorithms(message.header.algorithms)
    return RelayRequest(
        message.statement,
        message.statement_signature,
        message.subject_public_key,
        message.consent_digest,
        tuple(sealed_from_proto(s) for s in message.sealed),
    )


def sealed_inquiries_to_proto(box: SealedBox) -> inquiry_history_pb2.SealedInquiries:
    """One sealed envelope."""
    return inquiry_history_pb2.SealedInquiries(enc=box.enc, ciphertext=box.ciphertext)


def sealed_inquiries_from_proto(message: inquiry_history_pb2.SealedInquiries) -> SealedBox:
    """One sealed envelope (sizes checked by :class:`SealedBox`)."""
    return SealedBox(message.enc, message.ciphertext)

"""``credgate.v1`` inquiry-history messages ⇄ domain values."""

from __future__ import annotations

from gateway._proto.credgate.v1 import common_pb2, inquiry_history_pb2
from gateway.crypto.hpke import SealedBox
from gateway.errors import InvalidInputError
from gateway.queries.inquiries.collector import CollectRequest
from gateway.rpc.convert.subject_check import check_algorithms

TOKEN_TYPE_RESIDENT_ID = common_pb2.TOKEN_TYPE_RESIDENT_ID


def collect_to_proto(
    request: CollectRequest, *, header: common_pb2.RequestHeader
) -> inquiry_history_pb2.CollectInquiriesRequest:
    """The bureau's request to one member."""
    return inquiry_history_pb2.CollectInquiriesRequest(
        header=header, subject=_token(request), subject_public_key=request.subject_public_key
    )


def collect_from_proto(message: inquiry_history_pb2.CollectInquiriesRequest) -> CollectRequest:
    """Validate and convert the bureau's request."""
    check_algorithms(message.header.algorithms)
    return _request(message.subject, message.subject_public_key)


def relay_to_proto(
    request: CollectRequest, *, consent_digest: bytes, header: common_pb2.RequestHeader
) -> inquiry_history_pb2.RequestSubjectInquiriesRequest:
    """The relaying member's request to the bureau."""
    return inquiry_history_pb2.RequestSubjectInquiriesRequest(
        header=header,
        subject=_token(request),
        subject_public_key=request.subject_public_key,
        consent_digest=consent_digest,
    )


def relay_from_proto(message: inquiry_history_pb2.RequestSubjectInquiriesRequest) -> CollectRequest:
    """Validate and convert the relaying member's request."""
    check_algorithms(message.header.algorithms)
    return _request(message.subject, message.subject_public_key)


def sealed_inquiries_to_proto(box: SealedBox) -> inquiry_history_pb2.SealedInquiries:
    """One sealed envelope."""
    return inquiry_history_pb2.SealedInquiries(enc=box.enc, ciphertext=box.ciphertext)


def sealed_inquiries_from_proto(message: inquiry_history_pb2.SealedInquiries) -> SealedBox:
    """One sealed envelope (sizes checked by :class:`SealedBox`)."""
    return SealedBox(message.enc, message.ciphertext)


def _token(request: CollectRequest) -> common_pb2.SubjectToken:
    return common_pb2.SubjectToken(
        type=TOKEN_TYPE_RESIDENT_ID, key_epoch=request.key_epoch, value=request.token
    )


def _request(subject: common_pb2.SubjectToken, subject_public_key: bytes) -> CollectRequest:
    if subject.type != TOKEN_TYPE_RESIDENT_ID:
        raise InvalidInputError("expected a resident-ID token", field="subject.type")
    return CollectRequest(subject.value, subject.key_epoch, subject_public_key)

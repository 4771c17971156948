"""``credgate.v1`` contact-clearance messages ⇄ :mod:`gateway.contact.messages`."""

from __future__ import annotations

import datetime as dt
from typing import TypeVar

from google.protobuf.timestamp_pb2 import Timestamp

from gateway._proto.credgate.v1 import common_pb2, contact_clearance_pb2
from gateway.contact.messages import (
    ClearanceAnswer,
    ClearanceRequest,
    ContactTags,
    EntrustmentGrant,
    FlagTag,
    OutcomeAnswer,
    OutcomeRecord,
)
from gateway.errors import InvalidInputError
from gateway.rpc.convert.subject_check import timestamp
from gateway.store.enums import ClearanceDecision, ContactChannel, ContactFlagKind, ContactParty

__all__ = [
    "answer_from_proto",
    "answer_to_proto",
    "clear_request_from_proto",
    "clear_request_to_proto",
    "flags_from_proto",
    "flags_to_proto",
    "outcome_answer_from_proto",
    "outcome_answer_to_proto",
    "outcome_from_proto",
    "outcome_to_proto",
]

_pb = contact_clearance_pb2
E = TypeVar("E")
CHANNELS: dict[ContactChannel, int] = {
    ContactChannel.PHONE: _pb.CONTACT_CHANNEL_PHONE,
    ContactChannel.SMS: _pb.CONTACT_CHANNEL_SMS,
    ContactChannel.AI_VOICE: _pb.CONTACT_CHANNEL_AI_VOICE,
    ContactChannel.VISIT: _pb.CONTACT_CHANNEL_VISIT,
    ContactChannel.LETTER: _pb.CONTACT_CHANNEL_LETTER,
    ContactChannel.APP_MESSAGE: _pb.CONTACT_CHANNEL_APP_MESSAGE,
}
PARTIES: dict[ContactParty, int] = {
    ContactParty.DEBTOR: _pb.CONTACT_PARTY_DEBTOR,
    ContactParty.THIRD_PARTY: _pb.CONTACT_PARTY_THIRD_PARTY,
}
DECISIONS: dict[ClearanceDecision, int] = {
    ClearanceDecision.GRANTED: _pb.CLEARANCE_DECISION_GRANTED,
    ClearanceDecision.QUIET_HOURS: _pb.CLEARANCE_DECISION_DENIED_QUIET_HOURS,
    ClearanceDecision.CONNECTED_CAP: _pb.CLEARANCE_DECISION_DENIED_CONNECTED_CAP,
    ClearanceDecision.UNANSWERED_CAP: _pb.CLEARANCE_DECISION_DENIED_UNANSWERED_CAP,
    ClearanceDecision.DISPUTE_OR_DO_NOT_CONTACT: _pb.CLEARANCE_DECISION_DENIED_DISPUTE_OR_DO_NOT_CONTACT,
    ClearanceDecision.DECEASED: _pb.CLEARANCE_DECISION_DENIED_DECEASED,
    ClearanceDecision.NOT_ENTRUSTED: _pb.CLEARANCE_DECISION_DENIED_NOT_ENTRUSTED,
    ClearanceDecision.THIRD_PARTY: _pb.CLEARANCE_DECISION_DENIED_THIRD_PARTY,
    ClearanceDecision.VISIT_COLLECTORS: _pb.CLEARANCE_DECISION_DENIED_VISIT_COLLECTORS,
    ClearanceDecision.TAG_EPOCH: _pb.CLEARANCE_DECISION_DENIED_TAG_EPOCH,
    ClearanceDecision.FLAGS_UNAVAILABLE: _pb.CLEARANCE_DECISION_DENIED_FLAGS_UNAVAILABLE,
}
FLAG_KINDS: dict[ContactFlagKind, int] = {
    ContactFlagKind.DISPUTE: _pb.CONTACT_FLAG_KIND_DISPUTE,
    ContactFlagKind.DO_NOT_CONTACT: _pb.CONTACT_FLAG_KIND_DO_NOT_CONTACT,
    ContactFlagKind.DECEASED: _pb.CONTACT_FLAG_KIND_DECEASED,
    ContactFlagKind.THIRD_PARTY_REFUSED: _pb.CONTACT_FLAG_KIND_THIRD_PARTY_REFUSED,
    ContactFlagKind.ENTRUSTMENT_ENDED: _pb.CONTACT_FLAG_KIND_ENTRUSTMENT_ENDED,
}


def _lookup(table: dict[E, int], value: int, *, field: str) -> E:
    for member, number in table.items():
        if number == value:
            return member
    raise InvalidInputError(f"unknown or unspecified value {value}", field=field)


def _moment(stamp: Timestamp, present: bool) -> dt.datetime | None:
    return stamp.ToDatetime(dt.UTC) if present else None


def tags_to_proto(tags: ContactTags) -> contact_clearance_pb2.ContactTags:
    """The tags message."""
    return _pb.ContactTags(
        local_day=tags.local_day,
        tag_key_epoch=tags.tag_key_epoch,
        token_key_epoch=tags.token_key_epoch,
        debtor_tag=tags.debtor_tag,
        number_tag=tags.number_tag or b"",
    )


def grant_to_proto(grant: EntrustmentGrant) -> contact_clearance_pb2.EntrustmentGrant:
    """The grant message."""
    return _pb.EntrustmentGrant(
        version=grant.version,
        lender_member_id=grant.lender_member_id,
        agency_member_id=grant.agency_member_id,
        local_day=grant.local_day,
        tag_key_epoch=grant.tag_key_epoch,
        debtor_tag=grant.debtor_tag,
        channels=[CHANNELS[c] for c in sorted(grant.channels)],  # type: ignore[misc]  # enum ValueType
        third_party_allowed=grant.third_party_allowed,
        lender_certificate=grant.lender_certificate_der,
        signature=grant.signature,
    )


def grant_from_proto(message: contact_clearance_pb2.EntrustmentGrant) -> EntrustmentGrant:
    """The grant in a request (unverified: the desk verifies it)."""
    return EntrustmentGrant(
        lender_member_id=message.lender_member_id,
        agency_member_id=message.agency_member_id,
        local_day=message.local_day,
        tag_key_epoch=message.tag_key_epoch,
        debtor_tag=message.debtor_tag,
        channels=frozenset(_lookup(CHANNELS, c, field="grant.channels") for c in message.channels),
        third_party_allowed=message.third_party_allowed,
        lender_certificate_der=message.lender_certificate,
        signature=message.signature,
        version=message.version,
    )


def clear_request_to_proto(
    request: ClearanceRequest, header: common_pb2.RequestHeader
) -> contact_clearance_pb2.ClearContactRequest:
    """The wire request; ``header`` carries the request's idempotency key."""
    message = _pb.ClearContactRequest(
        header=header,
        channel=CHANNELS[request.channel],  # type: ignore[arg-type]  # enum ValueType
        tags=tags_to_proto(request.tags),
        party=PARTIES[request.party],  # type: ignore[arg-type]  # enum ValueType
        collectors=request.collectors,
    )
    message.header.idempotency_key = request.idempotency_key
    if request.grant is not None:
        message.grant.CopyFrom(grant_to_proto(request.grant))
    return message


def clear_request_from_proto(message: contact_clearance_pb2.ClearContactRequest) -> ClearanceRequest:
    """The domain request.

    Raises
    ------
    InvalidInputError
        Naming the field that is missing or malformed.

    """
    if not message.HasField("tags"):
        raise InvalidInputError("expected the day's tags", field="tags")
    tags = message.tags
    return ClearanceRequest(
        idempotency_key=message.header.idempotency_key,
        channel=_lookup(CHANNELS, message.channel, field="channel"),
        party=_lookup(PARTIES, message.party, field="party"),
        tags=ContactTags(
            local_day=tags.local_day,
            tag_key_epoch=tags.tag_key_epoch,
            token_key_epoch=tags.token_key_epoch,
            debtor_tag=tags.debtor_tag,
            number_tag=tags.number_tag or None,
        ),
        grant=grant_from_proto(message.grant) if message.HasField("grant") else None,
        collectors=message.collectors,
        carried_tokens=message.HasField("debtor") or message.HasField("contact_number"),
    )


def answer_to_proto(answer: ClearanceAnswer) -> contact_clearance_pb2.ClearContactResponse:
    """The wire answer."""
    message = _pb.ClearContactResponse(
        decision=DECISIONS[answer.decision],  # type: ignore[arg-type]  # enum ValueType
        reservation_id=answer.reservation_id or b"",
        tag_key_epoch=answer.tag_key_epoch,
        replayed=answer.replayed,
    )
    if answer.expires_at is not None:
        message.reservation_expires_at.CopyFrom(timestamp(answer.expires_at))
    if answer.retry_after is not None:
        message.retry_after.CopyFrom(timestamp(answer.retry_after))
    return message


def answer_from_proto(message: contact_clearance_pb2.ClearContactResponse) -> ClearanceAnswer:
    """The domain answer."""
    return ClearanceAnswer(
        _lookup(DECISIONS, message.decision, field="decision"),
        reservation_id=message.reservation_id or None,
        expires_at=_moment(message.reservation_expires_at, message.HasField("reservation_expires_at")),
        retry_after=_moment(message.retry_after, message.HasField("retry_after")),
        tag_key_epoch=message.tag_key_epoch,
        replayed=message.replayed,
    )


def outcome_to_proto(
    record: OutcomeRecord, header: common_pb2.RequestHeader
) -> contact_clearance_pb2.RecordContactOutcomeRequest:
    """The wire outcome."""
    message = _pb.RecordContactOutcomeRequest(
        header=header,
        reservation_id=record.reservation_id,
        connected=record.connected,
        released=record.released,
    )
    if record.attempted_at is not None:
        message.attempted_at.CopyFrom(timestamp(record.attempted_at))
    return message


def outcome_from_proto(message: contact_clearance_pb2.RecordContactOutcomeRequest) -> OutcomeRecord:
    """The domain outcome.

    Raises
    ------
    InvalidInputError
        When the reservation id is not 16 bytes.

    """
    if len(message.reservation_id) != 16:
        raise InvalidInputError("expected a 16-byte reservation id", field="reservation_id")
    return OutcomeRecord(
        reservation_id=message.reservation_id,
        connected=message.connected,
        attempted_at=_moment(message.attempted_at, message.HasField("attempted_at")),
        released=message.released,
    )


def outcome_answer_to_proto(answer: OutcomeAnswer) -> contact_clearance_pb2.RecordContactOutcomeResponse:
    """The wire acknowledgement."""
    return _pb.RecordContactOutcomeResponse(
        recorded=answer.recorded, already_recorded=answer.already_recorded, late=answer.late
    )


def outcome_answer_from_proto(message: contact_clearance_pb2.RecordContactOutcomeResponse) -> OutcomeAnswer:
    """The domain acknowledgement."""
    return OutcomeAnswer(message.recorded, message.already_recorded, message.late)


def flags_to_proto(flags: list[FlagTag]) -> list[contact_clearance_pb2.ContactFlagTag]:
    """Flag tags on the wire."""
    return [
        _pb.ContactFlagTag(
            tag=flag.tag,
            kind=FLAG_KINDS[flag.kind],  # type: ignore[arg-type]  # enum ValueType
            scope_lender_member_id=flag.scope_lender or "",
            agency_member_id=flag.agency or "",
        )
        for flag in flags
    ]


def flags_from_proto(messages: list[contact_clearance_pb2.ContactFlagTag]) -> list[FlagTag]:
    """Flag tags from the wire.

    Raises
    ------
    InvalidInputError
        When a tag is not 32 bytes or a kind is unknown.

    """
    return [
        FlagTag(
            tag=m.tag,
            kind=_lookup(FLAG_KINDS, m.kind, field="flags.kind"),
            scope_lender=m.scope_lender_member_id or None,
            agency=m.agency_member_id or None,
        )
        for m in messages
    ]

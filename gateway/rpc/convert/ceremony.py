"""``credgate.v1`` members' secret envelopes ⇄ domain values."""

from __future__ import annotations

from gateway._proto.credgate.v1 import member_pb2
from gateway.node.ceremony import SecretEnvelope


def envelope_to_proto(envelope: SecretEnvelope) -> member_pb2.MembersSecretEnvelope:
    """One sealed, signed envelope."""
    return member_pb2.MembersSecretEnvelope(
        epoch=envelope.epoch,
        initiator_member_id=envelope.initiator,
        recipient_member_id=envelope.recipient,
        enc=envelope.enc,
        ciphertext=envelope.ciphertext,
        signature=envelope.signature,
    )


def envelope_from_proto(message: member_pb2.MembersSecretEnvelope) -> SecretEnvelope:
    """One sealed, signed envelope (verified by its recipient)."""
    return SecretEnvelope(
        message.epoch,
        message.initiator_member_id,
        message.recipient_member_id,
        message.enc,
        message.ciphertext,
        message.signature,
    )

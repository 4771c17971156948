"""The members' secret ceremony: one member makes a new epoch and hands it to every other member.

1. The initiating member draws 32 random bytes as the next epoch (one above every epoch
   it holds, or the epoch it re-sends to members that missed it).
2. For every pinned member (role from its certificate: bank, consumer finance,
   micro-lender, agency) it seals the secret with HPKE to that member's pinned key,
   ``info`` binding the epoch, itself and the recipient, and signs the envelope with its
   certificate key (label ``credgate/v1/members-secret``).
3. The bureau relays each envelope to its recipient's ``ReceiveMembersSecret``; it can
   neither open (HPKE) nor forge (no member's certificate key) an envelope.
4. The recipient checks the initiator is a pinned member whose certificate names a member
   role, the signature, and that it holds no other value for the epoch; then it installs
   the epoch and audits it. The newest epoch is used from then on; older ones stay for
   requests in flight.
"""

from __future__ import annotations

import datetime as dt
import os
import ssl
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gateway.audit import AuditEvent, AuditRecorder, Outcome
from gateway.crypto.encoding import i2osp, length_prefixed_all
from gateway.crypto.hpke import SealedBox, hpke_info, open_sealed, seal
from gateway.crypto.keys import NodeKeys
from gateway.crypto.members_secret import MembersSecret, MembersSecretStore
from gateway.crypto.signatures import SignatureInvalid, sign_with_tls_key, verify_with_certificate
from gateway.errors import ProtocolRefused
from gateway.identity.tls import TLSIdentity
from gateway.node.pins import PeerKeys, PinStore
from gateway.roles import Role

if TYPE_CHECKING:
    from gateway.node.session import MemberSession

CEREMONY_ACTION = "members_secret.receive"
SIGNATURE_LABEL = b"credgate/v1/members-secret"
MEMBER_ROLES = frozenset({Role.BANK, Role.CONSUMER_FINANCE, Role.MICRO_LENDER, Role.AGENCY})


@dataclass(frozen=True)
class SecretEnvelope:
    """One epoch of the members' secret, sealed to one recipient and signed by the initiator."""

    epoch: int
    initiator: str
    recipient: str
    enc: bytes
    ciphertext: bytes
    signature: bytes

    def signed_part(self) -> bytes:
        """What the initiator signs."""
        return length_prefixed_all(
            [
                i2osp(self.epoch, 4),
                self.initiator.encode("ascii"),
                self.recipient.encode("ascii"),
                self.enc,
                self.ciphertext,
            ],
            width=4,
        )


def _info(epoch: int, initiator: str, recipient: str) -> bytes:
    return hpke_info("members-secret", i2osp(epoch, 4), initiator.encode("ascii"), recipient.encode("ascii"))


def next_secret(secrets: MembersSecretStore, *, epoch: int | None = None) -> MembersSecret:
    """The epoch to hand out: ``epoch`` as held (a re-send), or a fresh one above every epoch held."""
    if epoch is not None:
        return secrets.get(epoch)
    return MembersSecret(max(secrets.epochs, default=0) + 1, os.urandom(32))


def seal_for_members(
    secret: MembersSecret, *, me: str, tls_key_pem: bytes, recipients: Mapping[str, PeerKeys]
) -> list[SecretEnvelope]:
    """Seal and sign ``secret`` for every member among ``recipients`` but ``me``."""
    envelopes: list[SecretEnvelope] = []
    for member_id, keys in sorted(recipients.items()):
        if member_id == me or keys.role not in MEMBER_ROLES:
            continue
        box = seal(
            keys.bundle.hpke_public_key, secret.value, info=_info(secret.epoch, me, member_id), aad=b""
        )
        unsigned = SecretEnvelope(secret.epoch, me, member_id, box.enc, box.ciphertext, b"")
        signature = sign_with_tls_key(SIGNATURE_LABEL, unsigned.signed_part(), tls_key_pem, field="tls_key")
        envelopes.append(SecretEnvelope(secret.epoch, me, member_id, box.enc, box.ciphertext, signature))
    return envelopes


class SecretReceiver:
    """A member installing an epoch of the members' secret relayed by the bureau."""

    def __init__(
        self,
        *,
        identity: TLSIdentity,
        keys: NodeKeys,
        pins: PinStore,
        secrets: MembersSecretStore,
        audit: AuditRecorder,
        clock: Callable[[], dt.datetime],
    ) -> None:
        self._identity = identity
        self._keys = keys
        self._pins = pins
        self._secrets = secrets
        self._audit = audit
        self._clock = clock

    def receive(self, envelope: SecretEnvelope) -> bool:
        """Verify, open and install; True when the epoch is new here.

        Raises
        ------
        ProtocolRefused
            When the envelope is not for this member, the initiator is not a pinned member,
            or the signature or the sealed box does not verify.

        """
        try:
            installed = self._receive(envelope)
        except ProtocolRefused as exc:
            self._record(envelope, Outcome.DENY, exc.reason)
            raise
        self._record(envelope, Outcome.ALLOW, "installed" if installed else "already_held")
        return installed

    def _receive(self, envelope: SecretEnvelope) -> bool:
        me = self._identity.own.member_id
        if envelope.recipient != me:
            raise ProtocolRefused("the envelope is for another member", reason="wrong_recipient")
        try:
            initiator = self._pins.get([envelope.initiator])[envelope.initiator]
        except Exception as exc:
            raise ProtocolRefused("the initiator is not a pinned member", reason="unknown_initiator") from exc
        if initiator.role not in MEMBER_ROLES:
            raise ProtocolRefused(
                f"only members make the members' secret, not a {initiator.role.value}",
                reason="initiator_role",
            )
        pem = ssl.DER_cert_to_PEM_cert(initiator.certificate_der).encode("ascii")
        try:
            signer = verify_with_certificate(
                SIGNATURE_LABEL,
                envelope.signed_part(),
                envelope.signature,
                pem,
                ca_certificate_pem=self._identity.ca_pem,
                now=self._clock(),
                revocation=self._identity.revocations,
            )
            if signer.member_id != envelope.initiator:
                raise SignatureInvalid("signed by another member")
            value = open_sealed(
                self._keys.hpke.private_key,
                SealedBox(envelope.enc, envelope.ciphertext),
                info=_info(envelope.epoch, envelope.initiator, me),
                aad=b"",
            )
            secret = MembersSecret(envelope.epoch, value)
        except Exception as exc:
            raise ProtocolRefused("the envelope does not verify", reason="envelope_invalid") from exc
        try:
            return self._secrets.install(secret)
        except Exception as exc:
            raise ProtocolRefused(str(exc), reason="epoch_conflict") from exc

    def _record(self, envelope: SecretEnvelope, outcome: Outcome, reason: str) -> None:
        self._audit.record(
            AuditEvent.for_peer(
                self._identity.own,
                action=CEREMONY_ACTION,
                outcome=outcome,
                reason=reason,
                correlation_id=uuid.uuid4().hex,
                details={"epoch": envelope.epoch, "initiator": envelope.initiator},
            )
        )


def run_ceremony(session: MemberSession, *, epoch: int | None = None) -> tuple[int, list[str], list[str]]:
    """Make (or re-send) an epoch and distribute it; return (epoch, delivered, failed).

    Raises
    ------
    GatewayError
        When the bureau refuses or cannot be reached.

    """
    from gateway.node.bureau_calls import distribute_members_secret

    secret = next_secret(session.secrets, epoch=epoch)
    # all_members waits (trust_wait) for keys not yet in a trusted key-log checkpoint.
    recipients = session.pins().all_members()
    envelopes = seal_for_members(
        secret, me=session.identity.own.member_id, tls_key_pem=session.identity.key_pem, recipients=recipients
    )
    delivered, failed = distribute_members_secret(session.channel, envelopes)
    session.secrets.install(secret)
    session.audit.record(
        AuditEvent.for_peer(
            session.identity.own,
            action="members_secret.create",
            outcome=Outcome.ALLOW,
            reason="ceremony",
            correlation_id=uuid.uuid4().hex,
            details={"epoch": secret.epoch, "delivered": len(delivered), "failed": len(failed)},
        )
    )
    return secret.epoch, delivered, failed

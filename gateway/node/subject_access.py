"""A member relaying a data subject's request for their inquiry history (ARCHITECTURE §6.5).

The relayer tokenises the subject's ID, signs a statement (its id, the subject's one-time
key, the consent digest, a lookup tag keyed with the members' secret, a time and a nonce)
and seals the token to every pinned member, each box bound to the statement. The bureau
sees neither the ID nor the token (issue #11).
"""

from __future__ import annotations

import hashlib
import os

from gateway.crypto.hpke import SealedBox, seal
from gateway.crypto.signatures import sign_with_tls_key
from gateway.node.bureau_calls import request_inquiries
from gateway.node.session import MemberSession
from gateway.queries.inquiries.relay import ANSWERING_ROLES, RelayRequest
from gateway.queries.inquiries.statement import (
    SIGNATURE_LABEL,
    AccessStatement,
    lookup_tag,
    sealed_token_info,
    token_plaintext,
)
from gateway.queries.subject_check.messages import Coverage, SealedFor
from gateway.store.enums import TokenType


def relay_subject_access(
    session: MemberSession, national_id: str, subject_public_key: bytes, consent_ref: str
) -> tuple[list[SealedBox], Coverage]:
    """Every member's inquiries about the subject, sealed to ``subject_public_key``.

    Raises
    ------
    GatewayError
        When the ID is invalid, the members' secret is missing, or the bureau refuses.

    """
    request = relay_request(session, national_id, subject_public_key, consent_ref)
    return request_inquiries(session.channel, request)


def relay_request(
    session: MemberSession, national_id: str, subject_public_key: bytes, consent_ref: str
) -> RelayRequest:
    """The signed statement and the token sealed to every pinned member, ready for the bureau."""
    epoch, (token,) = session.tokeniser.tokenise(TokenType.RESIDENT_ID, [national_id])
    secret = session.secrets.current()
    statement = AccessStatement(
        relayer=session.identity.own.member_id,
        subject_public_key=subject_public_key,
        consent_digest=hashlib.sha256(consent_ref.encode("utf-8")).digest(),
        lookup_tag=lookup_tag(secret, token, epoch),
        secret_epoch=secret.epoch,
        issued_at=session.clock(),
        nonce=os.urandom(16),
    )
    signature = sign_with_tls_key(
        SIGNATURE_LABEL, statement.to_bytes(), session.identity.key_pem, field="tls_key"
    )
    sealed = []
    for member_id, keys in sorted(session.pins().all_members().items()):
        if keys.role not in ANSWERING_ROLES:
            continue
        box = seal(
            keys.bundle.hpke_public_key,
            token_plaintext(token, epoch),
            info=sealed_token_info(statement.digest(), member_id),
            aad=b"",
        )
        sealed.append(SealedFor(member_id, box.enc, box.ciphertext))
    return RelayRequest(
        statement.to_bytes(), signature, subject_public_key, statement.consent_digest, tuple(sealed)
    )

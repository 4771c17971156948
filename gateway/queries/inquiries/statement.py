"""The relaying member's signed subject-access statement (issue #11, finding 6).

A member relaying a data subject's request for their inquiry history signs, with its
certificate key, what it asks for; every responder verifies the statement against the
relayer's pinned certificate, records it (durably, once) and answers at most
``max_per_relayer_per_day`` statements of one relayer per local day. A relaying member can
still seal a history to its own key by claiming a consent it does not hold, but only a
bounded number of times a day, each time leaving its signature in every member's log.

Encoding (version 1), signed under the label ``credgate/v1/subject-access-statement``::

    0x01 || len ‖ relayer_member_id || subject_public_key (32) || consent_digest (32)
         || lookup_tag (32) || secret_epoch (4) || issued_at (8, µs since the Unix epoch) || nonce (16)

``lookup_tag`` is the HMAC of the token under the members' subject-access key: the bureau
audits requests under it but cannot compute it for a resident ID. The token itself travels
only sealed (HPKE) to each member, ``info`` binding the statement's hash and the recipient.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass

from gateway.crypto.encoding import i2osp, length_prefixed
from gateway.crypto.hpke import hpke_info
from gateway.crypto.members_secret import MembersSecret
from gateway.errors import InvalidInputError

STATEMENT_VERSION = 1
SIGNATURE_LABEL = b"credgate/v1/subject-access-statement"
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class AccessStatement:
    """What the relaying member asks for, and vouches for with its signature."""

    relayer: str
    subject_public_key: bytes
    consent_digest: bytes
    lookup_tag: bytes
    secret_epoch: int
    issued_at: dt.datetime
    nonce: bytes

    def to_bytes(self) -> bytes:
        """The version-1 encoding."""
        micros = (self.issued_at - _EPOCH) // dt.timedelta(microseconds=1)
        return (
            bytes([STATEMENT_VERSION])
            + length_prefixed(self.relayer.encode("ascii"))
            + self.subject_public_key
            + self.consent_digest
            + self.lookup_tag
            + i2osp(self.secret_epoch, 4)
            + i2osp(micros, 8)
            + self.nonce
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> AccessStatement:
        """Parse an (unverified) statement.

        Raises
        ------
        InvalidInputError
            When the version or layout is wrong.

        """
        if not data or data[0] != STATEMENT_VERSION or len(data) < 3:
            raise InvalidInputError(f"expected a version-{STATEMENT_VERSION} statement", field="statement")
        size = int.from_bytes(data[1:3], "big")
        rest = data[3 + size :]
        if len(rest) != 32 * 3 + 4 + 8 + 16:
            raise InvalidInputError("malformed statement", field="statement")
        try:
            relayer = data[3 : 3 + size].decode("ascii")
        except UnicodeDecodeError:
            raise InvalidInputError("malformed relayer id", field="statement") from None
        micros = int.from_bytes(rest[100:108], "big")
        return cls(
            relayer,
            rest[0:32],
            rest[32:64],
            rest[64:96],
            int.from_bytes(rest[96:100], "big"),
            _EPOCH + dt.timedelta(microseconds=micros),
            rest[108:124],
        )

    def digest(self) -> bytes:
        """SHA-256 of the encoding (what the sealed tokens are bound to)."""
        return hashlib.sha256(self.to_bytes()).digest()


def lookup_tag(secret: MembersSecret, token: bytes, key_epoch: int) -> bytes:
    """The members' keyed lookup tag of a token."""
    return secret.tag("subject-access", length_prefixed(token) + i2osp(key_epoch, 4))


def check_lookup_tag(secret: MembersSecret, token: bytes, key_epoch: int, tag: bytes) -> None:
    """Raise unless ``tag`` is the lookup tag of the opened token.

    Raises
    ------
    InvalidInputError
        When it is not.

    """
    if not hmac.compare_digest(lookup_tag(secret, token, key_epoch), tag):
        raise InvalidInputError("does not match the sealed token", field="statement.lookup_tag")


def sealed_token_info(statement_digest: bytes, recipient: str) -> bytes:
    """HPKE ``info`` for a subject-access token sealed to ``recipient``."""
    return hpke_info("subject-access", statement_digest, recipient.encode("ascii"))


def token_plaintext(token: bytes, key_epoch: int) -> bytes:
    """What is sealed: ``0x01 || key_epoch (4) || token (64)``."""
    return bytes([1]) + i2osp(key_epoch, 4) + token


def parse_token_plaintext(data: bytes) -> tuple[bytes, int]:
    """Inverse of :func:`token_plaintext`.

    Raises
    ------
    InvalidInputError
        When the layout is wrong.

    """
    if len(data) != 69 or data[0] != 1:
        raise InvalidInputError("expected a version-1 sealed token", field="sealed")
    return data[5:], int.from_bytes(data[1:5], "big")

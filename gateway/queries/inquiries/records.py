"""The sealed inquiry list: what each member returns to a subject, and how the subject opens it.

Plaintext (version 1): ``0x01 || JSON list`` of ``{"institution", "date", "reason"}``,
padded with spaces to a multiple of :data:`PAD_BLOCK` bytes so that neither the
bureau nor the relaying member learns from sizes how many records a member has.
HPKE ``info`` binds the purpose and the subject's one-time public key.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from gateway.crypto.hpke import SealedBox, hpke_info, open_sealed, seal
from gateway.errors import InvalidInputError

RECORDS_VERSION = 1
PAD_BLOCK = 512


@dataclass(frozen=True, order=True)
class InquiryRecord:
    """One query an institution made about the subject."""

    date: str
    institution: str
    reason: str


def records_info(subject_public_key: bytes) -> bytes:
    """HPKE ``info`` for inquiry envelopes sealed to ``subject_public_key``."""
    return hpke_info("subject-inquiries", subject_public_key)


def seal_records(records: list[InquiryRecord], subject_public_key: bytes) -> SealedBox:
    """Seal one member's records (possibly none) to the subject."""
    body = json.dumps([asdict(r) for r in sorted(records)], ensure_ascii=False, separators=(",", ":"))
    plaintext = bytes([RECORDS_VERSION]) + body.encode("utf-8")
    padded = plaintext + b" " * (-len(plaintext) % PAD_BLOCK)
    return seal(subject_public_key, padded, info=records_info(subject_public_key), aad=b"")


def open_records(
    box: SealedBox, *, subject_private_key: bytes, subject_public_key: bytes
) -> list[InquiryRecord]:
    """Open one envelope with the subject's private key.

    Raises
    ------
    DecryptionError
        When the envelope was not sealed to this key.
    InvalidInputError
        When the opened content is not a version-1 record list.

    """
    plaintext = open_sealed(subject_private_key, box, info=records_info(subject_public_key), aad=b"")
    if not plaintext or plaintext[0] != RECORDS_VERSION:
        raise InvalidInputError(f"expected version-{RECORDS_VERSION} inquiry records", field="envelope")
    try:
        rows = json.loads(plaintext[1:].decode("utf-8"))
        return [InquiryRecord(str(r["date"]), str(r["institution"]), str(r["reason"])) for r in rows]
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidInputError("inquiry records are not a list of records", field="envelope") from exc

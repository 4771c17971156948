"""What the querier seals to each member, and the hashes that bind a chunk together.

Plaintext of a sealed chunk (version 1), HPKE-sealed to one member::

    0x01 || flags (1) || key_epoch (4) || token_type (1) || query_seed (32)
         || count (4) || count × token (64 each)

``flags`` bit 0 marks the querier's own envelope: its node takes part in the
round with a zero row, so that responders cannot tell the querier from any
other participant. The HPKE ``info`` binds the query (its idempotency key and
chunk index) and the recipient; the attempt is bound into the masks instead,
because the same envelopes serve a re-run over the survivors.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import struct
from collections.abc import Sequence
from dataclasses import dataclass

from gateway.crypto.hpke import hpke_info
from gateway.errors import InvalidInputError
from gateway.store.enums import TokenType

ENVELOPE_VERSION = 1
TOKEN_BYTES = 64
SEED_BYTES = 32
SELF_FLAG = 0x01
_HEADER = struct.Struct(">BBIB32sI")
_TOKEN_KINDS = {TokenType.RESIDENT_ID: 1, TokenType.MOBILE: 2}
_DEDUP_LABEL = b"credgate/v1/dedup"


@dataclass(frozen=True)
class TokenChunk:
    """The opened content of one member's envelope."""

    key_epoch: int
    token_kind: TokenType
    query_seed: bytes
    tokens: tuple[bytes, ...]
    is_querier: bool

    def to_bytes(self) -> bytes:
        """The version-1 plaintext."""
        flags = SELF_FLAG if self.is_querier else 0
        header = _HEADER.pack(
            ENVELOPE_VERSION,
            flags,
            self.key_epoch,
            _TOKEN_KINDS[self.token_kind],
            self.query_seed,
            len(self.tokens),
        )
        return header + b"".join(self.tokens)

    @classmethod
    def from_bytes(cls, data: bytes) -> TokenChunk:
        """Parse a plaintext.

        Raises
        ------
        InvalidInputError
            When the version, sizes or token type are wrong.

        """
        if len(data) < _HEADER.size or data[0] != ENVELOPE_VERSION:
            raise InvalidInputError(f"expected a version-{ENVELOPE_VERSION} token chunk", field="sealed")
        _, flags, epoch, kind_code, seed, count = _HEADER.unpack_from(data)
        body = data[_HEADER.size :]
        if len(body) != count * TOKEN_BYTES:
            raise InvalidInputError(f"expected {count} tokens of {TOKEN_BYTES} bytes", field="sealed")
        kinds = {code: kind for kind, code in _TOKEN_KINDS.items()}
        if kind_code not in kinds:
            raise InvalidInputError(f"unknown token type {kind_code}", field="sealed")
        tokens = tuple(body[i : i + TOKEN_BYTES] for i in range(0, len(body), TOKEN_BYTES))
        return cls(epoch, kinds[kind_code], seed, tokens, bool(flags & SELF_FLAG))


def envelope_info(idempotency_key: bytes, chunk_index: int, recipient_member_id: str) -> bytes:
    """HPKE ``info`` binding the query, the chunk and the recipient."""
    return hpke_info(
        "subject-check", idempotency_key, chunk_index.to_bytes(4, "big"), recipient_member_id.encode("ascii")
    )


def dedup_tag(token: bytes, local_date: dt.date) -> bytes:
    """SHA-256 over the token and the query's local date (see ``SubjectCheckRequest.dedup_tags``)."""
    return hashlib.sha256(_DEDUP_LABEL + token + local_date.isoformat().encode("ascii")).digest()


def check_dedup_tags(tokens: Sequence[bytes], tags: Sequence[bytes], local_date: dt.date) -> None:
    """Raise unless every tag is the dedup tag of its token for ``local_date``.

    A responder runs this so that a querier cannot evade the bureau's cache by
    sending fresh tags for a subject it already asked about today.
    """
    if len(tags) != len(tokens):
        raise InvalidInputError(
            f"expected {len(tokens)} dedup tags, received {len(tags)}", field="dedup_tags"
        )
    for index, (token, tag) in enumerate(zip(tokens, tags, strict=True)):
        if dedup_tag(token, local_date) != tag:
            raise InvalidInputError(
                "does not match its token and the query date", field=f"dedup_tags[{index}]"
            )

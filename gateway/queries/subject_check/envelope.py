"""What the querier seals to each member, and the keyed values that bind a chunk together.

Plaintext of a sealed chunk (version 2), HPKE-sealed to one member::

    0x02 || flags (1) || key_epoch (4) || token_type (1) || query_seed (32)
         || authenticator (32) || count (4) || count × token (64 each)

``flags`` bit 0 marks the querier's own envelope: its node takes part in the round with
a zero row, so that responders cannot tell the querier from any other participant.

Everything keyed here uses the members' secret (``gateway.crypto.members_secret``), which
the bureau never holds although it holds the OPRF key (issue #11):

* the **dedup tag** of a token for a local day, the bureau's cache key;
* the **authenticator**, an HMAC over the chunk's public binding and its sealed content,
  which every responder checks: the bureau can seal to members (HPKE base mode does not
  authenticate senders) but cannot produce it, so it cannot make up a check; all members
  share the key, so it does not say which member asked.

HPKE ``info`` binds the chunk's public binding (idempotency key, chunk index, subject
count, secrets epoch, tags) and the recipient; the attempt is bound into every mask and
into each responder's durable state (docs/hpke.md).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import struct
from collections.abc import Sequence
from dataclasses import dataclass

from gateway.crypto.encoding import i2osp, length_prefixed, length_prefixed_all
from gateway.crypto.hpke import hpke_info
from gateway.crypto.members_secret import MembersSecret
from gateway.errors import InvalidInputError
from gateway.store.enums import TokenType

ENVELOPE_VERSION = 2
TOKEN_BYTES = 64
SEED_BYTES = 32
AUTH_BYTES = 32
SELF_FLAG = 0x01
_HEADER = struct.Struct(">BBIB32s32sI")
_TOKEN_KINDS = {TokenType.RESIDENT_ID: 1, TokenType.MOBILE: 2}
_BINDING_LABEL = b"credgate/v1/subject-check-binding"


@dataclass(frozen=True)
class TokenChunk:
    """The opened content of one member's envelope."""

    key_epoch: int
    token_kind: TokenType
    query_seed: bytes
    authenticator: bytes
    tokens: tuple[bytes, ...]
    is_querier: bool

    def to_bytes(self) -> bytes:
        """The version-2 plaintext."""
        flags = SELF_FLAG if self.is_querier else 0
        header = _HEADER.pack(
            ENVELOPE_VERSION,
            flags,
            self.key_epoch,
            _TOKEN_KINDS[self.token_kind],
            self.query_seed,
            self.authenticator,
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
        _, flags, epoch, kind_code, seed, authenticator, count = _HEADER.unpack_from(data)
        body = data[_HEADER.size :]
        if len(body) != count * TOKEN_BYTES:
            raise InvalidInputError(f"expected {count} tokens of {TOKEN_BYTES} bytes", field="sealed")
        kinds = {code: kind for kind, code in _TOKEN_KINDS.items()}
        if kind_code not in kinds:
            raise InvalidInputError(f"unknown token type {kind_code}", field="sealed")
        tokens = tuple(body[i : i + TOKEN_BYTES] for i in range(0, len(body), TOKEN_BYTES))
        return cls(epoch, kinds[kind_code], seed, authenticator, tokens, bool(flags & SELF_FLAG))


def chunk_binding(
    idempotency_key: bytes,
    chunk_index: int,
    subject_count: int,
    secret_epoch: int,
    dedup_tags: Sequence[bytes],
) -> bytes:
    """SHA-256 over a chunk's public fields, which every responder receives too."""
    parts = [
        _BINDING_LABEL,
        idempotency_key,
        i2osp(chunk_index, 4),
        i2osp(subject_count, 4),
        i2osp(secret_epoch, 4),
        length_prefixed_all(dedup_tags),
    ]
    return hashlib.sha256(length_prefixed_all(parts, width=4)).digest()


def envelope_info(binding: bytes, recipient_member_id: str) -> bytes:
    """HPKE ``info`` binding the chunk (its public binding) and the recipient."""
    return hpke_info("subject-check", binding, recipient_member_id.encode("ascii"))


def dedup_tag(secret: MembersSecret, token: bytes, local_date: dt.date) -> bytes:
    """HMAC of the token and the local date under the members' dedup key."""
    return secret.tag("dedup-tag", length_prefixed(token) + local_date.isoformat().encode("ascii"))


def query_authenticator(
    secret: MembersSecret,
    binding: bytes,
    *,
    key_epoch: int,
    token_kind: TokenType,
    query_seed: bytes,
    tokens: Sequence[bytes],
) -> bytes:
    """HMAC under the members' query key over the binding and the sealed content."""
    content = hashlib.sha256(b"".join(tokens)).digest()
    message = (
        length_prefixed(binding)
        + i2osp(key_epoch, 4)
        + bytes([_TOKEN_KINDS[token_kind]])
        + hashlib.sha256(query_seed).digest()
        + content
    )
    return secret.tag("query-auth", message)


def check_authenticator(secret: MembersSecret, binding: bytes, chunk: TokenChunk) -> None:
    """Raise unless the chunk's authenticator is the members' HMAC of what it carries.

    Raises
    ------
    InvalidInputError
        When it is not (a query no member made, e.g. one the bureau fabricated).

    """
    expected = query_authenticator(
        secret,
        binding,
        key_epoch=chunk.key_epoch,
        token_kind=chunk.token_kind,
        query_seed=chunk.query_seed,
        tokens=chunk.tokens,
    )
    if not hmac.compare_digest(expected, chunk.authenticator):
        raise InvalidInputError(
            "no member made this query (authenticator does not verify)",
            field="sealed",
            reason="unauthenticated_query",
        )


def check_dedup_tags(
    secret: MembersSecret, tokens: Sequence[bytes], tags: Sequence[bytes], local_date: dt.date
) -> None:
    """Raise unless every tag is the dedup tag of its token for ``local_date``.

    A responder runs this so that a querier cannot evade the bureau's cache by
    sending fresh tags for a subject it already asked about today.
    """
    if len(tags) != len(tokens):
        raise InvalidInputError(
            f"expected {len(tokens)} dedup tags, received {len(tags)}", field="dedup_tags"
        )
    for index, (token, tag) in enumerate(zip(tokens, tags, strict=True)):
        if not hmac.compare_digest(dedup_tag(secret, token, local_date), tag):
            raise InvalidInputError(
                "does not match its token and the query date", field=f"dedup_tags[{index}]"
            )

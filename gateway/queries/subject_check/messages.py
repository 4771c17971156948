"""Domain values exchanged in a subject check (the gRPC layer converts to and from these)."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from gateway.crypto.encoding import length_prefixed, length_prefixed_all
from gateway.queries.subject_check.layout import AnswerSegment
from gateway.store.enums import ReasonCode

_REQUEST_HASH_LABEL = b"credgate/v1/subject-check-request"


@dataclass(frozen=True)
class SealedFor:
    """One member's HPKE-sealed token chunk."""

    recipient: str
    enc: bytes
    ciphertext: bytes


@dataclass(frozen=True)
class CheckChunk:
    """One chunk of a subject check as the querier sends it to the bureau."""

    idempotency_key: bytes
    reason: ReasonCode
    consent_digest: bytes
    chunk_index: int
    last_chunk: bool
    subject_count: int
    sealed: tuple[SealedFor, ...]
    dedup_tags: tuple[bytes, ...]
    secret_epoch: int

    def request_hash(self) -> bytes:
        """SHA-256 over every field the querier controls, binding masks to this chunk.

        The bureau's query time is not included: the querier must be able to
        compute the hash before the bureau stamps the request.
        """
        sealed = length_prefixed_all(
            length_prefixed_all([s.recipient.encode("ascii"), s.enc, s.ciphertext], width=4)
            for s in self.sealed
        )
        parts = [
            _REQUEST_HASH_LABEL,
            self.idempotency_key,
            self.reason.value.encode("ascii"),
            self.consent_digest,
            self.chunk_index.to_bytes(4, "big"),
            self.subject_count.to_bytes(4, "big"),
            self.secret_epoch.to_bytes(4, "big"),
            length_prefixed_all(self.dedup_tags),
            length_prefixed(sealed, width=4),
        ]
        return hashlib.sha256(length_prefixed_all(parts, width=4)).digest()


@dataclass(frozen=True)
class RoundRequest:
    """What the bureau asks one participant to compute for one attempt of a chunk."""

    query_time: dt.datetime
    layout_version: int
    attempt: int
    request_hash: bytes
    answering_set_hash: bytes
    participants: tuple[str, ...]
    chunk_index: int
    subject_count: int
    sealed: SealedFor
    idempotency_key: bytes
    dedup_tags: tuple[bytes, ...]
    segment_map: Mapping[AnswerSegment, AnswerSegment]
    secret_epoch: int


@dataclass(frozen=True)
class FinalizeRequest:
    """The bureau asking one participant to reveal the self-mask seed of an attempt."""

    query_time: dt.datetime
    request_hash: bytes
    attempt: int
    answering_set_hash: bytes


@dataclass(frozen=True)
class ContributionProof:
    """A participant's signed digest of its contribution (``gateway.aggregation.verification``)."""

    member_id: str
    digest: bytes
    signature: bytes


@dataclass(frozen=True)
class Contribution:
    """What a participant returns for one attempt: its self-masked rows and its proof."""

    rows: npt.NDArray[np.uint64]
    proof: ContributionProof


@dataclass(frozen=True)
class Coverage:
    """How many members other than the querier were asked and answered, in how many attempts.

    ``participants`` also counts the querier, which takes part with a zero row; it is the
    multiple of the querier's mask in the sum. Which members took part is the bureau's alone.
    """

    members_asked: int
    members_answered: int
    attempts: int
    participants: int
    # Members other than the querier in the consortium (registered, not revoked): coverage
    # is worded against it (issue #17 item 11).
    consortium_members: int = 0


@dataclass(frozen=True)
class RoundReference:
    """The round a summed row comes from (cached rows point at an earlier round)."""

    request_hash: bytes
    attempt: int
    coverage: Coverage
    segment_map: Mapping[AnswerSegment, AnswerSegment]
    rows: int
    participants: tuple[str, ...] = ()
    proofs: tuple[ContributionProof, ...] = ()


@dataclass(frozen=True)
class ChunkResult:
    """The bureau's answer to one chunk: masked sums and the rounds they come from.

    ``complete`` is false when too few members answered (insufficient coverage); the
    rows are then empty. Row ``i`` comes from ``rounds[row_round[i]]``, where it was row
    ``row_index[i]`` of that round's matrix (the querier's mask depends on the position).
    """

    chunk_index: int
    complete: bool
    coverage: Coverage
    masked_rows: npt.NDArray[np.uint64]
    rounds: tuple[RoundReference, ...]
    row_round: tuple[int, ...]
    row_index: tuple[int, ...]

"""What every mask is bound to: the request, the attempt and the answering set.

Masks are derived afresh for each (request, attempt, answering set), so a
re-run over the survivors after a dropout never reuses a mask of the failed
attempt (ARCHITECTURE §6.1). Reusing one would let anyone who sees both masked
vectors subtract them and cancel the mask.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from gateway.crypto.encoding import i2osp, length_prefixed
from gateway.errors import InvalidInputError

__all__ = ["ANSWERING_SET_LABEL", "MAX_ATTEMPT", "MaskContext", "answering_set_hash", "canonical_order"]

ANSWERING_SET_LABEL = b"credgate/v1/answering-set"
MAX_ATTEMPT = 2**32 - 1
_HASH_BYTES = 32


def canonical_order(member_ids: Iterable[str]) -> list[str]:
    """Sort member ids by their UTF-8 bytes, the order every party agrees on.

    Raises
    ------
    InvalidInputError
        When an id is empty or appears twice.

    """
    ids = list(member_ids)
    if any(not member_id for member_id in ids):
        raise InvalidInputError("expected non-empty member ids", field="member_ids")
    if len(set(ids)) != len(ids):
        raise InvalidInputError("expected each member id once", field="member_ids")
    return sorted(ids, key=lambda member_id: member_id.encode("utf-8"))


def answering_set_hash(member_ids: Iterable[str]) -> bytes:
    """SHA-256 over the domain label, the count and the sorted, length-prefixed ids.

    Parameters
    ----------
    member_ids
        The members answering this attempt, in any order.

    Returns
    -------
    bytes
        32 bytes naming the set, independent of input order.

    Raises
    ------
    InvalidInputError
        When the set is empty or an id is empty or repeated.

    """
    ordered = canonical_order(member_ids)
    if not ordered:
        raise InvalidInputError("expected at least one member id", field="member_ids")
    digest = hashlib.sha256(length_prefixed(ANSWERING_SET_LABEL))
    digest.update(i2osp(len(ordered), 4))
    for member_id in ordered:
        digest.update(length_prefixed(member_id.encode("utf-8")))
    return digest.digest()


@dataclass(frozen=True)
class MaskContext:
    """The context every pairwise mask of one attempt is bound to.

    Attributes
    ----------
    request_hash
        SHA-256 of the canonical request, 32 bytes (used as the HKDF salt).
    attempt
        Attempt number, ``0 <= attempt < 2**32``; a re-run uses a new number.
    answering_set_hash
        :func:`answering_set_hash` of the members answering this attempt.

    Raises
    ------
    InvalidInputError
        At construction, when a hash is not 32 bytes or the attempt is out of range.

    """

    request_hash: bytes
    attempt: int
    answering_set_hash: bytes

    def __post_init__(self) -> None:
        """Validate sizes at construction (STYLE §3)."""
        for name in ("request_hash", "answering_set_hash"):
            if len(getattr(self, name)) != _HASH_BYTES:
                raise InvalidInputError(f"expected 32 bytes, received {len(getattr(self, name))}", field=name)
        if not 0 <= self.attempt <= MAX_ATTEMPT:
            raise InvalidInputError(
                f"expected 0 <= attempt < 2**32, received {self.attempt}", field="attempt"
            )

    @classmethod
    def for_members(cls, request_hash: bytes, attempt: int, member_ids: Iterable[str]) -> MaskContext:
        """Build the context for ``member_ids`` answering ``attempt`` of a request."""
        return cls(request_hash, attempt, answering_set_hash(member_ids))

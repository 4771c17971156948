"""One member's masked contribution, and the bureau's sum of them.

A member's contribution is ``encode(values) + R + Σ_j ±expand(s_ij)`` (mod P):
its values hidden from the bureau by the querier mask ``R`` and from the
querier (even together with the bureau) by the pairwise masks. Regulator reports
omit ``R``: the bureau opens their sum, which members have already noised.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from gateway.aggregation.context import MaskContext
from gateway.aggregation.field import Residues, SignedValues, add_into, check_residues, encode
from gateway.aggregation.pairwise import pairwise_mask
from gateway.aggregation.querier import query_mask
from gateway.errors import InvalidInputError

__all__ = ["MIN_ANSWERING_MEMBERS", "mask_contribution", "sum_contributions"]

MIN_ANSWERING_MEMBERS = 3
"""ARCHITECTURE §6.1: never fewer than three answering members."""


def mask_contribution(
    values: SignedValues,
    *,
    own_id: str,
    own_mask_private: bytes,
    peers: Mapping[str, bytes],
    context: MaskContext,
    query_seed: bytes | None,
) -> Residues:
    """Mask this member's integer vector or matrix for the bureau.

    Parameters
    ----------
    values
        Signed integers (counts, one-hot buckets, DP noise shares), any shape.
    own_id
        This member's id.
    own_mask_private
        This member's raw mask private key.
    peers
        Every other answering member's id and verified mask public key.
    context
        Request hash, attempt and answering-set hash of this attempt.
    query_seed
        The querier's seed, opened from its HPKE envelope; ``None`` when the bureau itself
        opens the sum (regulator reports, whose sums are already differentially private).

    Returns
    -------
    Residues
        ``encode(values) + R + pairwise`` modulo P, safe to hand to the bureau.

    Raises
    ------
    InvalidInputError
        When fewer than :data:`MIN_ANSWERING_MEMBERS` would answer, the peers do
        not match the context, or an input is malformed.
    KeyAgreementError
        When a peer's mask key is of low order.

    """
    if len(peers) + 1 < MIN_ANSWERING_MEMBERS:
        raise InvalidInputError(
            f"expected at least {MIN_ANSWERING_MEMBERS} answering members, received {len(peers) + 1}",
            field="peers",
        )
    encoded = encode(values)
    shape = encoded.shape
    masked = pairwise_mask(
        own_id=own_id, own_mask_private=own_mask_private, peers=peers, context=context, shape=shape
    )
    scratch = np.empty_like(masked)
    add_into(masked, encoded, scratch=scratch)
    if query_seed is not None:
        querier = query_mask(
            query_seed,
            request_hash=context.request_hash,
            attempt=context.attempt,
            answering_set_hash=context.answering_set_hash,
            shape=shape,
        )
        add_into(masked, querier, scratch=scratch)
    return masked


def sum_contributions(contributions: Sequence[Residues]) -> Residues:
    """Sum masked contributions modulo P (the bureau's only arithmetic).

    Raises
    ------
    InvalidInputError
        When the sequence is empty, the shapes differ or an entry is not reduced.

    """
    if not contributions:
        raise InvalidInputError("expected at least one contribution", field="contributions")
    shape = contributions[0].shape
    for index, contribution in enumerate(contributions):
        check_residues(contribution, field=f"contributions[{index}]")
        if contribution.shape != shape:
            raise InvalidInputError(
                f"expected shape {shape}, received {contribution.shape}", field=f"contributions[{index}]"
            )
    total = np.array(contributions[0], dtype=np.uint64, order="C", copy=True)
    scratch = np.empty_like(total)
    for contribution in contributions[1:]:
        add_into(total, contribution, scratch=scratch)
    return total

"""Self-masks: what keeps a contribution closed until its attempt is finalized.

Each participant of a subject-check attempt adds, besides the querier mask and the
pairwise masks, a mask only it can derive (Bonawitz et al. 2017 §4, the "b_u" mask)::

    b      = HKDF-SHA256(ikm = mask_private, salt = request_hash,
                         info = "credgate/v1/self-mask-seed" || attempt || answering_set_hash)
    B      = expand(b, label = "credgate/v1/self-mask")

It reveals ``b`` to the bureau only when asked to finalize that attempt, and a member
finalizes at most one attempt per request — the highest it answered — and answers no
later attempt afterwards (``ResponderState``). So of a request's attempts at most one
can ever be opened: a dropout declared falsely (the bureau holding the "dropped"
member's contribution) yields nothing, because the attempt it was in can no longer be
finalized by the members that answer the re-run.
"""

from __future__ import annotations

from gateway.aggregation.context import MaskContext
from gateway.aggregation.field import Residues
from gateway.aggregation.prg import SEED_BYTES, expand
from gateway.crypto.encoding import i2osp, length_prefixed
from gateway.crypto.primitives import hkdf_sha256
from gateway.errors import InvalidInputError

__all__ = ["SELF_MASK_LABEL", "self_mask", "self_mask_seed"]

SELF_MASK_SEED_LABEL = b"credgate/v1/self-mask-seed"
SELF_MASK_LABEL = b"credgate/v1/self-mask"


def self_mask_seed(own_mask_private: bytes, context: MaskContext) -> bytes:
    """This participant's self-mask seed for one attempt (derived, so nothing is stored)."""
    info = length_prefixed(SELF_MASK_SEED_LABEL) + i2osp(context.attempt, 4) + context.answering_set_hash
    return hkdf_sha256(own_mask_private, salt=context.request_hash, info=info, length=SEED_BYTES)


def self_mask(seed: bytes, shape: tuple[int, ...]) -> Residues:
    """Expand a self-mask seed.

    Raises
    ------
    InvalidInputError
        When the seed is not 32 bytes.

    """
    if len(seed) != SEED_BYTES:
        raise InvalidInputError(f"expected {SEED_BYTES} bytes, received {len(seed)}", field="self_mask_seed")
    return expand(seed, label=SELF_MASK_LABEL, shape=shape)

"""Pairwise masks between answering members (Bonawitz et al. 2017, §4 "masking with one-time pads").

For each pair of answering members i and j a seed is agreed without
interaction from their CA-certified mask keys::

    s_ij = HKDF-SHA256(ikm  = X25519(mask_private_i, mask_public_j),
                       salt = request_hash,
                       info = "credgate/v1/pairwise-seed" || attempt || answering_set_hash
                              || id_low || id_high || pk_low || pk_high)

where (id_low, id_high) is the pair in canonical order and pk_* their mask public
keys. Member i adds ``expand(s_ij)`` when ``id_i < id_j`` and subtracts it
otherwise, so over the whole answering set every pairwise mask cancels exactly
modulo P. Unlike the paper there is no secret-sharing recovery (§4 "handling
dropped users"): a dropout is handled by re-running over the survivors with a
fresh :class:`~gateway.aggregation.context.MaskContext`.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

import numpy as np

from gateway.aggregation.context import MaskContext, answering_set_hash
from gateway.aggregation.field import Residues, add_into, sub_into
from gateway.aggregation.prg import expand_into
from gateway.crypto.encoding import i2osp, length_prefixed, length_prefixed_all
from gateway.crypto.primitives import hkdf_sha256, x25519_agree, x25519_public_key
from gateway.errors import InvalidInputError

__all__ = ["PAIRWISE_MASK_LABEL", "PAIRWISE_SEED_LABEL", "pairwise_mask", "pairwise_seed"]

PAIRWISE_SEED_LABEL = b"credgate/v1/pairwise-seed"
PAIRWISE_MASK_LABEL = b"credgate/v1/pairwise-mask"


# The X25519 secret of a pair of mask keys is the same for every request until a key rotates;
# caching it saves two scalar multiplications per peer and check (about 0.1 ms each).
_public_key = functools.lru_cache(maxsize=16)(x25519_public_key)
_agreed_secret = functools.lru_cache(maxsize=1024)(x25519_agree)


def pairwise_seed(
    *, own_id: str, own_mask_private: bytes, peer_id: str, peer_mask_public: bytes, context: MaskContext
) -> bytes:
    """Agree the 32-byte seed shared by ``own_id`` and ``peer_id`` for ``context``.

    Both members derive the same seed: the X25519 secret is symmetric and the
    info orders the pair canonically.

    Raises
    ------
    InvalidInputError
        When the ids are equal or a key is malformed.
    KeyAgreementError
        When the peer's mask key is of low order.

    """
    if own_id == peer_id:
        raise InvalidInputError("a member has no pairwise mask with itself", field="peer_id")
    own_public = _public_key(own_mask_private)
    pairs = sorted([(own_id, own_public), (peer_id, peer_mask_public)], key=lambda p: p[0].encode("utf-8"))
    info = (
        length_prefixed(PAIRWISE_SEED_LABEL)
        + i2osp(context.attempt, 4)
        + context.answering_set_hash
        + length_prefixed_all(member_id.encode("utf-8") for member_id, _ in pairs)
        + length_prefixed_all(public for _, public in pairs)
    )
    secret = _agreed_secret(own_mask_private, peer_mask_public)
    return hkdf_sha256(secret, salt=context.request_hash, info=info, length=32)


def pairwise_mask(
    *,
    own_id: str,
    own_mask_private: bytes,
    peers: Mapping[str, bytes],
    context: MaskContext,
    shape: tuple[int, ...],
) -> Residues:
    """Return this member's net pairwise mask ``Σ_j ±expand(s_ij)`` for one attempt.

    Parameters
    ----------
    own_id
        This member's id.
    own_mask_private
        This member's raw mask private key.
    peers
        Every other answering member's id and mask public key, taken from
        their verified key bundles.
    context
        Request, attempt and answering set; its set hash must equal the hash of
        ``own_id`` and ``peers``.
    shape
        Shape of the vector or matrix being masked.

    Returns
    -------
    Residues
        The sum of this member's signed pairwise masks.

    Raises
    ------
    InvalidInputError
        When ``peers`` contains ``own_id`` or does not match the context's set.
    KeyAgreementError
        When a peer's mask key is of low order.

    """
    if own_id in peers:
        raise InvalidInputError("peers must not include the member itself", field="peers")
    if answering_set_hash([own_id, *peers]) != context.answering_set_hash:
        raise InvalidInputError("peers do not match the context's answering set", field="peers")
    total: Residues = np.zeros(shape, dtype=np.uint64)
    mask, scratch = np.empty_like(total), np.empty_like(total)
    own_key = own_id.encode("utf-8")
    for peer_id, peer_public in peers.items():
        seed = pairwise_seed(
            own_id=own_id,
            own_mask_private=own_mask_private,
            peer_id=peer_id,
            peer_mask_public=peer_public,
            context=context,
        )
        expand_into(seed, label=PAIRWISE_MASK_LABEL, out=mask, scratch=scratch)
        # Bonawitz et al. §4: the lower id adds, the higher id subtracts, so each pair cancels.
        if own_key < peer_id.encode("utf-8"):
            add_into(total, mask, scratch=scratch)
        else:
            sub_into(total, mask, scratch=scratch)
    return total

"""Masked sums of long vectors of small counts, in the ring of 16-bit words (Z/2^16).

The holders count of a regulator report (how many members hold each keyed bucket) is a vector
of millions of small integers. Masking it in the field modulo 2^61 − 1 would cost eight bytes a
bucket; counts below 2^16 only need two, and in Z/2^16 a uniform mask still hides a value
perfectly (adding a uniform element of a group is a one-time pad). The construction is the
field's, word for word::

    mask stream = AES-128-CTR(HKDF-SHA256(seed, info = DOMAIN || label)[:16]) read as
                  little-endian uint16 words

Pairwise seeds come from :func:`gateway.aggregation.pairwise.pairwise_seed` (the same
CA-certified keys, request hash, attempt and answering set), expanded under their own label
so that no keystream is shared with a field mask. numpy's ``uint16`` arithmetic wraps, which is
exactly reduction modulo 2^16.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from gateway.aggregation.context import MaskContext, answering_set_hash
from gateway.aggregation.pairwise import pairwise_seed
from gateway.aggregation.prg import PRG_DOMAIN, SEED_BYTES
from gateway.crypto.encoding import length_prefixed
from gateway.crypto.primitives import aes128_ctr_keystream_into, hkdf_sha256
from gateway.errors import InvalidInputError

__all__ = ["PAIRWISE_WORDS_LABEL", "Words", "expand_words", "pairwise_words"]

Words = npt.NDArray[np.uint16]
"""Elements of Z/2^16."""
PAIRWISE_WORDS_LABEL = b"credgate/v1/pairwise-words"
_MAX_WORDS = 2**26


def expand_words(seed: bytes, *, label: bytes, count: int) -> Words:
    """``count`` pseudorandom words from a 32-byte ``seed`` under ``label``.

    Raises
    ------
    InvalidInputError
        When the seed is not 32 bytes, the label is empty or ``count`` is out of range.

    """
    if len(seed) != SEED_BYTES:
        raise InvalidInputError(f"expected {SEED_BYTES} bytes, received {len(seed)}", field="seed")
    if not label:
        raise InvalidInputError("expected a non-empty label", field="label")
    if not 0 <= count <= _MAX_WORDS:
        raise InvalidInputError(f"expected 0 <= count <= {_MAX_WORDS}, received {count}", field="count")
    out: Words = np.empty(count, dtype=np.uint16)
    if count:
        key = hkdf_sha256(seed, salt=None, info=PRG_DOMAIN + length_prefixed(label), length=16)
        aes128_ctr_keystream_into(key, out.data.cast("B"))
        if not np.little_endian:
            out.byteswap(inplace=True)
    return out


def pairwise_words(
    *,
    own_id: str,
    own_mask_private: bytes,
    peers: Mapping[str, bytes],
    context: MaskContext,
    count: int,
) -> Words:
    """This member's net pairwise mask ``Σ_j ±expand(s_ij)`` over ``count`` words.

    Over the whole answering set the masks cancel modulo 2^16 (the lower id adds, the higher
    subtracts, as in :func:`gateway.aggregation.pairwise.pairwise_mask`).

    Raises
    ------
    InvalidInputError
        When ``peers`` holds this member or does not match the context's answering set.
    KeyAgreementError
        When a peer's mask key is of low order.

    """
    if own_id in peers:
        raise InvalidInputError("peers must not include the member itself", field="peers")
    if answering_set_hash([own_id, *peers]) != context.answering_set_hash:
        raise InvalidInputError("peers do not match the context's answering set", field="peers")
    total: Words = np.zeros(count, dtype=np.uint16)
    own_key = own_id.encode("utf-8")
    for peer_id, peer_public in peers.items():
        seed = pairwise_seed(
            own_id=own_id,
            own_mask_private=own_mask_private,
            peer_id=peer_id,
            peer_mask_public=peer_public,
            context=context,
        )
        mask = expand_words(seed, label=PAIRWISE_WORDS_LABEL, count=count)
        if own_key < peer_id.encode("utf-8"):
            total += mask
        else:
            total -= mask
    return total

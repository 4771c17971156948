"""Mask expansion: a 32-byte seed becomes a pseudorandom matrix of field elements.

Construction (the PRG of Bonawitz et al. 2017 §4, instantiated concretely)::

    key    = HKDF-SHA256(ikm=seed, salt=None, info=DOMAIN || I2OSP(len(label), 2) || label)[:16]
    stream = AES-128-CTR(key, counter block 0)  over  8 · prod(shape) zero bytes
    mask   = little-endian 64-bit words of stream, each reduced mod P

The all-zero counter block is safe because every key is derived for exactly one
(seed, label) pair and used for one stream (RFC 5869 §3.2 on distinct info
strings; NIST SP 800-38A §B.2 on counter uniqueness). Reducing a uniform 64-bit
word mod P leaves a statistical distance below 2**-60 per entry from uniform.
"""

from __future__ import annotations

import math

import numpy as np

from gateway.aggregation.field import Residues, reduce_words
from gateway.crypto.encoding import length_prefixed
from gateway.crypto.primitives import aes128_ctr_keystream, hkdf_sha256
from gateway.errors import InvalidInputError

__all__ = ["PRG_DOMAIN", "SEED_BYTES", "expand"]

PRG_DOMAIN = b"credgate/v1/mask-prg/"
SEED_BYTES = 32
_WORD = np.dtype("<u8")
_MAX_ENTRIES = 2**27  # 1 GiB of keystream; far above any histogram or model layer we mask.


def expand(seed: bytes, *, label: bytes, shape: tuple[int, ...]) -> Residues:
    """Expand ``seed`` into a ``shape``-shaped array of residues modulo P.

    Deterministic: the same seed and label always give the same prefix of
    values; different labels give independent streams.

    Parameters
    ----------
    seed
        32 secret bytes, used for no other purpose.
    label
        Domain-separation label naming the mask's role, e.g. ``b"pairwise-mask"``.
    shape
        Shape of the output array.

    Returns
    -------
    Residues
        A fresh ``uint64`` array with every entry in ``[0, P)``.

    Raises
    ------
    InvalidInputError
        When the seed is not 32 bytes, the label is empty, or the shape has a
        negative dimension or too many entries.

    """
    if len(seed) != SEED_BYTES:
        raise InvalidInputError(f"expected {SEED_BYTES} bytes, received {len(seed)}", field="seed")
    if not label:
        raise InvalidInputError("expected a non-empty label", field="label")
    if any(dimension < 0 for dimension in shape):
        raise InvalidInputError(f"expected non-negative dimensions, received {shape}", field="shape")
    entries = math.prod(shape)
    if entries > _MAX_ENTRIES:
        raise InvalidInputError(f"expected at most {_MAX_ENTRIES} entries, received {entries}", field="shape")
    key = hkdf_sha256(seed, salt=None, info=PRG_DOMAIN + length_prefixed(label), length=16)
    words = np.frombuffer(aes128_ctr_keystream(key, 8 * entries), dtype=_WORD)
    return reduce_words(words.astype(np.uint64)).reshape(shape)

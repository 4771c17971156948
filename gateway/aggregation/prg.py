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
import numpy.typing as npt

from gateway.aggregation.field import Residues, reduce_words_into
from gateway.crypto.encoding import length_prefixed
from gateway.crypto.primitives import aes128_ctr_keystream_into, hkdf_sha256
from gateway.errors import InvalidInputError

__all__ = ["PRG_DOMAIN", "SEED_BYTES", "expand", "expand_into"]

PRG_DOMAIN = b"credgate/v1/mask-prg/"
SEED_BYTES = 32
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
    if any(dimension < 0 for dimension in shape):
        raise InvalidInputError(f"expected non-negative dimensions, received {shape}", field="shape")
    entries = math.prod(shape)
    if entries > _MAX_ENTRIES:
        raise InvalidInputError(f"expected at most {_MAX_ENTRIES} entries, received {entries}", field="shape")
    out: Residues = np.empty(entries, dtype=np.uint64)
    expand_into(seed, label=label, out=out, scratch=np.empty_like(out))
    return out.reshape(shape)


def expand_into(
    seed: bytes, *, label: bytes, out: npt.NDArray[np.uint64], scratch: npt.NDArray[np.uint64]
) -> None:
    """Write ``expand(seed, label=label, shape=out.shape)`` into ``out``.

    The keystream is written straight into ``out``'s memory and reduced in
    place, so a member masking against many peers reuses two buffers.

    Parameters
    ----------
    seed
        32 secret bytes.
    label
        Domain-separation label.
    out
        C-contiguous ``uint64`` array, overwritten with the mask.
    scratch
        ``uint64`` array of the same shape, overwritten.

    Raises
    ------
    InvalidInputError
        When the seed is not 32 bytes, the label is empty, or the buffers are
        not C-contiguous ``uint64`` arrays of one shape.

    """
    if len(seed) != SEED_BYTES:
        raise InvalidInputError(f"expected {SEED_BYTES} bytes, received {len(seed)}", field="seed")
    if not label:
        raise InvalidInputError("expected a non-empty label", field="label")
    for name, array in (("out", out), ("scratch", scratch)):
        if array.dtype != np.uint64 or not array.flags.c_contiguous or array.shape != out.shape:
            raise InvalidInputError("expected C-contiguous uint64 buffers of one shape", field=name)
    if out.size == 0:
        return
    key = hkdf_sha256(seed, salt=None, info=PRG_DOMAIN + length_prefixed(label), length=16)
    # Little-endian words (the module docstring's definition); a no-op on x86 and ARM.
    aes128_ctr_keystream_into(key, out.data.cast("B"))
    if not np.little_endian:
        out.byteswap(inplace=True)
    reduce_words_into(out, scratch=scratch)

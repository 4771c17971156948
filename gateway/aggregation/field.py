"""Arithmetic modulo the Mersenne prime P = 2**61 − 1, vectorised over numpy ``uint64``.

Why this field: masked sums must stay uniformly distributed whatever the number
of answering members. Modulo a prime, ``|S|·R`` is uniform for a uniform ``R``
whenever ``|S|`` is not a multiple of P, which is any realistic member count;
modulo 2**64 it is not (an even ``|S|`` loses the low bit). P < 2**61 also
means the sum of two residues (< 2**62) never overflows ``uint64``, and
``2**61 ≡ 1 (mod P)`` gives a cheap reduction: ``x ≡ (x & P) + (x >> 61)``.

Signed values (counts, and DP noise that may be negative) are represented by
their residues; decoding maps residues above P // 2 back to negatives.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from gateway.errors import InvalidInputError

__all__ = [
    "HALF",
    "P",
    "Residues",
    "SignedValues",
    "add",
    "check_residues",
    "decode",
    "encode",
    "neg",
    "reduce_words",
    "scalar_mul",
    "sub",
]

P = 2**61 - 1
HALF = P // 2
_P = np.uint64(P)
_LOW32 = np.uint64(0xFFFF_FFFF)
_LOW29 = np.uint64((1 << 29) - 1)
_MAX_SCALAR = 2**32

Residues = npt.NDArray[np.uint64]
"""Field elements: a ``uint64`` array whose entries are all in ``[0, P)``."""
SignedValues = npt.NDArray[np.int64]
"""Signed integers in ``[-(P // 2), P // 2]``."""


def check_residues(residues: Residues, *, field: str = "residues") -> None:
    """Raise unless ``residues`` is a ``uint64`` array with every entry below P.

    Raises
    ------
    InvalidInputError
        When the dtype is not ``uint64`` or an entry is not reduced.

    """
    if not isinstance(residues, np.ndarray) or residues.dtype != np.uint64:
        received = getattr(residues, "dtype", type(residues).__name__)
        raise InvalidInputError(f"expected a uint64 array, received {received}", field=field)
    if residues.size and bool((residues >= _P).any()):
        raise InvalidInputError("expected every entry below 2**61 - 1", field=field)


def encode(values: SignedValues) -> Residues:
    """Map signed integers to residues: ``v`` for ``v >= 0``, ``v + P`` for ``v < 0``.

    Raises
    ------
    InvalidInputError
        When ``values`` is not an integer array or an entry lies outside
        ``[-(P // 2), P // 2]`` (it would not decode to itself).

    """
    if not isinstance(values, np.ndarray) or not np.issubdtype(values.dtype, np.signedinteger):
        received = getattr(values, "dtype", type(values).__name__)
        raise InvalidInputError(f"expected a signed integer array, received {received}", field="values")
    signed = values.astype(np.int64, copy=False)
    if signed.size and (int(signed.min()) < -HALF or int(signed.max()) > HALF):
        raise InvalidInputError(f"expected entries in [-{HALF}, {HALF}]", field="values")
    # numpy's % follows Python semantics: the result has the sign of the divisor.
    return np.mod(signed, np.int64(P)).astype(np.uint64)


def decode(residues: Residues) -> SignedValues:
    """Inverse of :func:`encode`: residues above P // 2 become negative.

    Raises
    ------
    InvalidInputError
        When ``residues`` is not a reduced ``uint64`` array.

    """
    check_residues(residues)
    signed = residues.astype(np.int64)
    signed[residues > np.uint64(HALF)] -= np.int64(P)
    return signed


def reduce_words(words: npt.NDArray[np.uint64]) -> Residues:
    """Reduce arbitrary 64-bit words modulo P using ``2**61 ≡ 1 (mod P)``.

    ``(x & P) + (x >> 61)`` is below ``P + 8``, so one conditional subtraction
    finishes the job.
    """
    reduced = (words & _P) + (words >> np.uint64(61))
    np.subtract(reduced, _P, out=reduced, where=reduced >= _P)
    return reduced


def add(a: Residues, b: Residues) -> Residues:
    """Return ``(a + b) mod P`` element-wise; the sum is below 2**62 and cannot overflow."""
    total = a + b
    np.subtract(total, _P, out=total, where=total >= _P)
    return total


def neg(a: Residues) -> Residues:
    """Return ``(-a) mod P`` element-wise."""
    negated = _P - a
    negated[negated == _P] = np.uint64(0)
    return negated


def sub(a: Residues, b: Residues) -> Residues:
    """Return ``(a - b) mod P`` element-wise, as ``a + (P - b)`` reduced."""
    total = a + (_P - b)
    np.subtract(total, _P, out=total, where=total >= _P)
    return total


def scalar_mul(a: Residues, k: int) -> Residues:
    """Return ``(k · a) mod P`` element-wise for ``0 <= k < 2**32``, without overflow.

    With ``a = ah·2**32 + al``: ``al·k < 2**64`` is reduced directly, and
    ``ah·k < 2**61`` is shifted by 32 bits using ``2**61 ≡ 1``:
    ``y·2**32 ≡ (y >> 29) + (y & (2**29 − 1))·2**32 (mod P)``.

    Raises
    ------
    InvalidInputError
        When ``k`` is outside ``[0, 2**32)``; the protocol only multiplies by
        member counts.

    """
    if not 0 <= k < _MAX_SCALAR:
        raise InvalidInputError(f"expected 0 <= k < 2**32, received {k}", field="k")
    scalar = np.uint64(k)
    low = reduce_words((a & _LOW32) * scalar)
    high_product = (a >> np.uint64(32)) * scalar
    high = (high_product >> np.uint64(29)) + ((high_product & _LOW29) << np.uint64(32))
    np.subtract(high, _P, out=high, where=high >= _P)
    return add(low, high)

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
    "add_into",
    "check_residues",
    "decode",
    "encode",
    "neg",
    "reduce_words_into",
    "scalar_mul",
    "sub",
    "sub_into",
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
    # Two's complement: a negative v becomes 2**64 + v, and adding P wraps it to v + P.
    residues = signed.astype(np.uint64)
    residues[signed < 0] += _P
    return residues


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


def reduce_words_into(words: npt.NDArray[np.uint64], *, scratch: npt.NDArray[np.uint64]) -> None:
    """Reduce arbitrary 64-bit words modulo P in place, using ``2**61 ≡ 1 (mod P)``.

    ``(x & P) + (x >> 61)`` is below ``P + 8``, so one conditional subtraction
    finishes the job. ``scratch`` (same shape) is overwritten.
    """
    np.right_shift(words, np.uint64(61), out=scratch)
    words &= _P
    words += scratch
    _reduce_once_into(words, scratch=scratch)


def _reduce_once_into(values: npt.NDArray[np.uint64], *, scratch: npt.NDArray[np.uint64]) -> None:
    """Reduce entries below ``2·P`` in place as ``min(x, x − P)`` with wrap-around.

    When ``x < P`` the subtraction wraps to a number above ``2**63`` and the
    minimum keeps ``x``; otherwise it keeps ``x − P``. Branch-free, and several
    times faster than a masked subtraction.
    """
    np.subtract(values, _P, out=scratch)
    np.minimum(values, scratch, out=values)


def add_into(total: Residues, other: Residues, *, scratch: npt.NDArray[np.uint64]) -> None:
    """Set ``total = (total + other) mod P`` in place; the sum is below 2**62 and cannot overflow.

    The in-place forms let a member accumulate many masks with two buffers
    instead of allocating megabytes per peer.
    """
    total += other
    _reduce_once_into(total, scratch=scratch)


def sub_into(total: Residues, other: Residues, *, scratch: npt.NDArray[np.uint64]) -> None:
    """Set ``total = (total − other) mod P`` in place, as ``total + (P − other)`` reduced."""
    np.subtract(_P, other, out=scratch)
    total += scratch
    _reduce_once_into(total, scratch=scratch)


def add(a: Residues, b: Residues) -> Residues:
    """Return ``(a + b) mod P`` element-wise."""
    total = a + b
    _reduce_once_into(total, scratch=np.empty_like(total))
    return total


def sub(a: Residues, b: Residues) -> Residues:
    """Return ``(a − b) mod P`` element-wise."""
    total = a.copy()
    sub_into(total, b, scratch=np.empty_like(total))
    return total


def neg(a: Residues) -> Residues:
    """Return ``(−a) mod P`` element-wise."""
    return sub(np.zeros_like(a), a)


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
    scratch = np.empty_like(a)
    low = (a & _LOW32) * scalar
    reduce_words_into(low, scratch=scratch)
    high_product = (a >> np.uint64(32)) * scalar
    high = (high_product >> np.uint64(29)) + ((high_product & _LOW29) << np.uint64(32))
    _reduce_once_into(high, scratch=scratch)
    add_into(low, high, scratch=scratch)
    return low

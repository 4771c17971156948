"""Unambiguous byte encodings for everything fed into a KDF, a hash or a signature.

Every variable-length field is length-prefixed with a fixed-width big-endian
integer (``I2OSP`` of RFC 8017 §4.1, as RFC 9180 §4 uses it), so no two
different field lists can encode to the same bytes.
"""

from __future__ import annotations

from collections.abc import Iterable

from gateway.errors import InvalidInputError

__all__ = ["i2osp", "length_prefixed", "length_prefixed_all"]


def i2osp(value: int, width: int) -> bytes:
    """Encode a non-negative integer as ``width`` big-endian bytes (RFC 8017 §4.1).

    Parameters
    ----------
    value
        The integer; must satisfy ``0 <= value < 256**width``.
    width
        Number of output bytes.

    Returns
    -------
    bytes
        ``width`` bytes, most significant first.

    Raises
    ------
    InvalidInputError
        When ``value`` is negative or too large for ``width`` bytes.

    """
    if not 0 <= value < 256**width:
        raise InvalidInputError(
            f"expected an integer in [0, 2**{8 * width}), received {value}", field="value"
        )
    return value.to_bytes(width, "big")


def length_prefixed(data: bytes, *, width: int = 2) -> bytes:
    """Return ``I2OSP(len(data), width) || data``.

    Raises
    ------
    InvalidInputError
        When ``data`` is too long for a ``width``-byte length prefix.

    """
    if len(data) >= 256**width:
        raise InvalidInputError(
            f"expected at most {256**width - 1} bytes, received {len(data)}", field="data"
        )
    return i2osp(len(data), width) + data


def length_prefixed_all(parts: Iterable[bytes], *, width: int = 2) -> bytes:
    """Concatenate ``parts``, each length-prefixed with ``width`` bytes."""
    return b"".join(length_prefixed(part, width=width) for part in parts)

"""Typed names for the few libsodium ristretto255 functions the OPRF uses, via ``rbcl``.

``rbcl`` 1.1.2 bundles libsodium 1.0.18 but ships no ``py.typed`` marker, so mypy
sees it as untyped. This module is the one place that imports it: it binds each
function to a typed module-level name (no wrapper frame, so no per-call cost) and
documents what the OPRF code relies on.

Facts about the bundled libsodium 1.0.18 the callers depend on (the RFC 9497
and RFC 9496 vectors in ``tests/unit/tokens`` exercise each of them):

* ``scalarmult(s, p)`` decodes ``p`` with ``ristretto255_frombytes``
  (RFC 9496 §4.3.1) and raises :class:`RuntimeError` when the encoding is
  invalid *or* the product is the identity. It does **not** clamp: it only
  clears bit 255 of ``s``, which is always clear for a reduced scalar.
* ``is_valid_point`` accepts the identity encoding (32 zero bytes) and
  encodings with bit 255 set (libsodium added that check only after 1.0.18).
  Callers therefore check both themselves before trusting an element.
* ``scalar_random`` returns a canonical, non-zero scalar; ``scalar_invert``
  raises :class:`ValueError` for zero.
"""

from __future__ import annotations

from collections.abc import Callable

import rbcl  # type: ignore[import-untyped]  # rbcl 1.1.2 ships no py.typed marker

ELEMENT_BYTES: int = rbcl.crypto_core_ristretto255_BYTES
"""Length of an encoded ristretto255 element (``Ne`` = 32)."""

SCALAR_BYTES: int = rbcl.crypto_core_ristretto255_SCALARBYTES
"""Length of an encoded scalar (``Ns`` = 32)."""

HASH_BYTES: int = rbcl.crypto_core_ristretto255_HASHBYTES
"""Length of the uniform string ``from_hash`` maps to an element (64)."""

from_hash: Callable[[bytes], bytes] = rbcl.crypto_core_ristretto255_from_hash
"""RFC 9496 §4.3.4 one-way map: 64 uniform bytes to an element."""

scalarmult: Callable[[bytes, bytes], bytes] = rbcl.crypto_scalarmult_ristretto255
"""``scalar * element``; decodes and validates the element, refuses an identity result."""

scalarmult_base: Callable[[bytes], bytes] = rbcl.crypto_scalarmult_ristretto255_base
"""``scalar * G`` for the ristretto255 generator."""

scalar_reduce: Callable[[bytes], bytes] = rbcl.crypto_core_ristretto255_scalar_reduce
"""Reduce a 64-byte little-endian integer modulo the group order."""

scalar_invert: Callable[[bytes], bytes] = rbcl.crypto_core_ristretto255_scalar_invert
"""Multiplicative inverse modulo the group order (refuses zero)."""

scalar_mul: Callable[[bytes, bytes], bytes] = rbcl.crypto_core_ristretto255_scalar_mul
"""Product of two scalars modulo the group order."""

scalar_random: Callable[[], bytes] = rbcl.crypto_core_ristretto255_scalar_random
"""A uniformly random, canonical, non-zero scalar from libsodium's CSPRNG."""

is_valid_point: Callable[[bytes], bool] = rbcl.crypto_core_ristretto255_is_valid_point
"""Whether 32 bytes decode to an element (see the module notes on its gaps)."""

"""The ciphersuite ristretto255-SHA512 of RFC 9497 §4.1, mode OPRF (0x00).

Everything protocol-independent lives here: the context string and domain
separation tags, ``expand_message_xmd`` (RFC 9380 §5.3.1) with SHA-512,
``HashToGroup`` / ``HashToScalar`` and ``DeriveKeyPair`` (RFC 9497 §3.2.1).
Group arithmetic goes through libsodium (:mod:`gateway.tokens.oprf._sodium`);
this module only hashes bytes and compares them.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence
from typing import Final

from gateway.errors import InvalidInputError
from gateway.tokens.oprf import _sodium
from gateway.tokens.oprf.errors import OPRFKeyError

MODE_OPRF: Final = 0x00
"""RFC 9497 §3.1 mode identifier of the base (non-verifiable) OPRF."""

SUITE_ID: Final = b"ristretto255-SHA512"
"""RFC 9497 §4.1 identifier of the ciphersuite."""

CONTEXT_STRING: Final = b"OPRFV1-" + MODE_OPRF.to_bytes(1, "big") + b"-" + SUITE_ID
"""RFC 9497 §3.1: ``"OPRFV1-" || I2OSP(mode, 1) || "-" || identifier``."""

HASH_TO_GROUP_DST: Final = b"HashToGroup-" + CONTEXT_STRING
"""RFC 9497 §4.1 DST of ``HashToGroup``."""

HASH_TO_SCALAR_DST: Final = b"HashToScalar-" + CONTEXT_STRING
"""RFC 9497 §4.1 DST of ``HashToScalar``."""

DERIVE_KEY_PAIR_DST: Final = b"DeriveKeyPair" + CONTEXT_STRING
"""RFC 9497 §3.2.1 DST of ``DeriveKeyPair`` (no hyphen, as in the RFC)."""

FINALIZE_LABEL: Final = b"Finalize"
"""RFC 9497 §3.3.1 label closing the ``Finalize`` / ``Evaluate`` hash input."""

ELEMENT_BYTES: Final = 32
"""``Ne``: length of a serialized element."""

SCALAR_BYTES: Final = 32
"""``Ns``: length of a serialized scalar."""

OUTPUT_BYTES: Final = 64
"""``Nh``: length of an OPRF output (SHA-512)."""

SEED_BYTES: Final = 32
"""RFC 9497 §3.2.1: ``DeriveKeyPair`` seeds are ``Ns`` bytes."""

MAX_INPUT_BYTES: Final = 0xFFFF
"""Inputs are length-prefixed with ``I2OSP(len, 2)``, so at most 65535 bytes."""

GROUP_ORDER: Final = 2**252 + 27742317777372353535851937790883648493
"""Order of the ristretto255 group (RFC 9496 §4)."""

IDENTITY: Final = bytes(ELEMENT_BYTES)
"""Canonical encoding of the identity element (RFC 9496 §4.3.2)."""

# RFC 9380 §5.3.1 parameters of SHA-512: b_in_bytes = 64, s_in_bytes = 128.
_B_IN_BYTES: Final = 64
_S_IN_BYTES: Final = 128
# Z_pad is exactly one SHA-512 block, so its compression is done once and the
# state copied for every message: one compression fewer per hash-to-group.
_ZPAD_STATE: Final = hashlib.sha512(bytes(_S_IN_BYTES))


def _dst_prime(dst: bytes) -> bytes:
    if len(dst) > 255:
        raise InvalidInputError(f"expected a DST of at most 255 bytes, got {len(dst)}", field="dst")
    return dst + len(dst).to_bytes(1, "big")


def expand_message_xmd(msg: bytes, dst: bytes, len_in_bytes: int) -> bytes:
    """Return ``len_in_bytes`` uniform bytes, RFC 9380 §5.3.1 with H = SHA-512.

    Parameters
    ----------
    msg
        The message to expand.
    dst
        The domain separation tag, at most 255 bytes (long DSTs, §5.3.3, are
        not needed by this suite).
    len_in_bytes
        Requested output length, 1 to 65535 and at most 255 hash blocks.

    Returns
    -------
    bytes
        ``uniform_bytes`` of the requested length.

    Raises
    ------
    InvalidInputError
        When the DST is longer than 255 bytes or the length is out of range.

    """
    # Steps 1-2: ell = ceil(len_in_bytes / b_in_bytes); ABORT if ell > 255,
    # len_in_bytes > 65535 or len(DST) > 255.
    ell = -(-len_in_bytes // _B_IN_BYTES)
    if not 0 < len_in_bytes <= 0xFFFF or ell > 255:
        raise InvalidInputError(
            f"expected 1 to {255 * _B_IN_BYTES} output bytes, got {len_in_bytes}", field="len_in_bytes"
        )
    # Steps 3-6: DST_prime, Z_pad, l_i_b_str, msg_prime.
    dst_prime = _dst_prime(dst)
    state = _ZPAD_STATE.copy()
    state.update(msg + len_in_bytes.to_bytes(2, "big") + b"\x00" + dst_prime)
    # Step 7: b_0 = H(msg_prime).
    b_0 = state.digest()
    # Step 8: b_1 = H(b_0 || I2OSP(1, 1) || DST_prime).
    b_i = hashlib.sha512(b_0 + b"\x01" + dst_prime).digest()
    blocks = [b_i]
    # Steps 9-10: b_i = H(strxor(b_0, b_(i - 1)) || I2OSP(i, 1) || DST_prime).
    b_0_int = int.from_bytes(b_0, "big")
    for i in range(2, ell + 1):
        mixed = (b_0_int ^ int.from_bytes(b_i, "big")).to_bytes(_B_IN_BYTES, "big")
        b_i = hashlib.sha512(mixed + i.to_bytes(1, "big") + dst_prime).digest()
        blocks.append(b_i)
    # Steps 11-12: uniform_bytes = b_1 || ... || b_ell, truncated.
    return b"".join(blocks)[:len_in_bytes]


def _uniform64_batch(messages: Sequence[bytes], dst: bytes) -> list[bytes]:
    """``expand_message_xmd(msg, dst, 64)`` for many messages (ell = 1, two hashes each)."""
    dst_prime = _dst_prime(dst)
    # msg_prime suffix: l_i_b_str = I2OSP(64, 2), I2OSP(0, 1), DST_prime.
    suffix = (64).to_bytes(2, "big") + b"\x00" + dst_prime
    tail = b"\x01" + dst_prime
    copy = _ZPAD_STATE.copy
    sha512 = hashlib.sha512
    out = []
    for msg in messages:
        state = copy()
        state.update(msg + suffix)
        out.append(sha512(state.digest() + tail).digest())
    return out


def hash_to_group(inputs: Sequence[bytes]) -> list[bytes]:
    """Map each input to a ristretto255 element, RFC 9497 §4.1 ``HashToGroup``.

    Each input is expanded to 64 uniform bytes with ``expand_message_xmd``
    (DST ``"HashToGroup-" || contextString``) and mapped with libsodium's
    ``crypto_core_ristretto255_from_hash`` (RFC 9380 Appendix B, RFC 9496 §4.3.4).

    Parameters
    ----------
    inputs
        The byte strings to map (not validated here; see the protocol functions).

    Returns
    -------
    list[bytes]
        One 32-byte encoded element per input, in order.

    """
    from_hash = _sodium.from_hash
    return [from_hash(uniform) for uniform in _uniform64_batch(inputs, HASH_TO_GROUP_DST)]


def hash_to_scalar(msg: bytes, *, dst: bytes = HASH_TO_SCALAR_DST) -> bytes:
    """Map ``msg`` to a scalar, RFC 9497 §4.1 ``HashToScalar``.

    Parameters
    ----------
    msg
        The byte string to map.
    dst
        Domain separation tag; ``"HashToScalar-" || contextString`` unless a
        protocol step names another (``DeriveKeyPair`` does).

    Returns
    -------
    bytes
        A 32-byte little-endian scalar reduced modulo the group order.

    """
    # 64 uniform bytes read as a little-endian integer and reduced mod L.
    return _sodium.scalar_reduce(expand_message_xmd(msg, dst, 64))


def scalar_is_canonical_nonzero(scalar: bytes) -> bool:
    """Return whether ``scalar`` is a 32-byte encoding of an integer in ``[1, L)``.

    A range check on the integer value only (no group arithmetic), used to
    validate injected blinds and stored keys (RFC 9497 §2.1 DeserializeScalar).

    Parameters
    ----------
    scalar
        Candidate serialized scalar.

    Returns
    -------
    bool
        ``True`` for a canonical non-zero scalar.

    """
    return (
        isinstance(scalar, bytes)
        and len(scalar) == SCALAR_BYTES
        and 0 < int.from_bytes(scalar, "little") < GROUP_ORDER
    )


def derive_key_pair(seed: bytes, info: bytes) -> tuple[bytes, bytes]:
    """Derive a key pair deterministically, RFC 9497 §3.2.1 ``DeriveKeyPair``.

    Parameters
    ----------
    seed
        ``Ns`` = 32 bytes of secret, uniformly random seed material.
    info
        Public key-derivation label, at most 65535 bytes.

    Returns
    -------
    tuple[bytes, bytes]
        ``(skS, pkS)``: the 32-byte secret scalar and ``skS * G`` (the public
        key is unused in mode OPRF but returned as the RFC specifies).

    Raises
    ------
    InvalidInputError
        When the seed is not 32 bytes or ``info`` is too long.
    OPRFKeyError
        When 256 counters all give the zero scalar (the RFC's
        ``DeriveKeyPairError``; probability about 2^-2000).

    """
    if not isinstance(seed, bytes) or len(seed) != SEED_BYTES:
        raise InvalidInputError(f"expected a {SEED_BYTES}-byte seed", field="seed")
    if not isinstance(info, bytes) or len(info) > MAX_INPUT_BYTES:
        raise InvalidInputError(f"expected at most {MAX_INPUT_BYTES} bytes of info", field="info")
    # Step 1: deriveInput = seed || I2OSP(len(info), 2) || info.
    derive_input = seed + len(info).to_bytes(2, "big") + info
    # Steps 2-7: counter loop until HashToScalar gives a non-zero scalar.
    zero = bytes(SCALAR_BYTES)
    for counter in range(256):
        secret = hash_to_scalar(derive_input + counter.to_bytes(1, "big"), dst=DERIVE_KEY_PAIR_DST)
        if not hmac.compare_digest(secret, zero):
            # Step 8: pkS = G.ScalarMultGen(skS).
            return secret, _sodium.scalarmult_base(secret)
    raise OPRFKeyError("DeriveKeyPair: 256 counters all gave the zero scalar")


ELEMENT_REJECTED: Final = "expected a 32-byte canonical encoding of a non-identity ristretto255 element"
"""The one message for every refused element: which check failed is not said (STYLE §4)."""


def multiply_received(scalars: Iterable[bytes], elements: Sequence[bytes], *, field: str) -> list[bytes]:
    """Return ``scalars[i] * elements[i]`` for elements received from a peer.

    This fuses RFC 9497 §2.1 ``DeserializeElement`` (with its input validation,
    §3.3.4 / RFC 9496 §4.3.1) with the scalar multiplication, so each element is
    decoded once: bytes, length and bit 255 are checked here (libsodium 1.0.18
    ignores bit 255), the identity is refused by value, and libsodium's
    ``crypto_scalarmult_ristretto255`` decodes the rest and refuses a
    non-canonical or invalid encoding.

    Parameters
    ----------
    scalars
        Non-zero canonical scalars, one per element.
    elements
        Untrusted serialized elements.
    field
        Name of the request field, used in the error (``field[i]``).

    Returns
    -------
    list[bytes]
        The serialized products, in order.

    Raises
    ------
    InvalidInputError
        For the first element that is not a valid non-identity element; its
        ``field`` is ``"<field>[i]"``. The message is the same for every cause.

    """
    smult = _sodium.scalarmult
    products: list[bytes] = []
    append = products.append
    try:
        for scalar, element in zip(scalars, elements, strict=True):
            if type(element) is not bytes or len(element) != ELEMENT_BYTES or element[31] & 0x80:
                raise _ElementRejected
            if element == IDENTITY:
                raise _ElementRejected
            append(smult(scalar, element))
    except (_ElementRejected, RuntimeError):
        # Every element before the failing one produced a product.
        raise InvalidInputError(ELEMENT_REJECTED, field=f"{field}[{len(products)}]") from None
    return products


class _ElementRejected(Exception):
    """Internal signal: an element failed a cheap check (never escapes this module)."""

"""Small typed wrappers around the hazmat primitives the rest of the gateway needs.

STYLE §3: only ``gateway.crypto`` (and the OPRF tokens) import
``cryptography.hazmat``. The masked-aggregation arithmetic calls these
functions with raw bytes and never sees a key object.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import x25519
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from gateway.crypto.errors import KeyAgreementError
from gateway.errors import InvalidInputError

__all__ = [
    "X25519_KEY_BYTES",
    "RandomBytes",
    "aes128_ctr_keystream_into",
    "hkdf_sha256",
    "x25519_agree",
    "x25519_generate_private",
    "x25519_public_key",
]

X25519_KEY_BYTES = 32
_AES128_KEY_BYTES = 16
_ZERO_COUNTER_BLOCK = bytes(16)
_MAX_CACHED_ZEROS = 16 * 2**20
_ZERO_BUFFER = b""

RandomBytes = Callable[[int], bytes]
"""A source of uniformly random bytes; ``os.urandom`` outside tests (STYLE §3)."""


def hkdf_sha256(ikm: bytes, *, salt: bytes | None, info: bytes, length: int) -> bytes:
    """HKDF-SHA256 Extract-then-Expand (RFC 5869 §2).

    Parameters
    ----------
    ikm
        Input keying material.
    salt
        Extract salt; ``None`` means the RFC 5869 §2.2 default of HashLen zeros.
    info
        Context and domain-separation label; required and non-empty (STYLE §3).
    length
        Output length in bytes, at most 255 * 32 (RFC 5869 §2.3).

    Returns
    -------
    bytes
        ``length`` bytes of output keying material.

    Raises
    ------
    InvalidInputError
        When ``info`` is empty or ``length`` is out of range.

    """
    if not info:
        raise InvalidInputError("expected a non-empty domain-separation label", field="info")
    if not 0 < length <= 255 * 32:
        raise InvalidInputError(f"expected 1..{255 * 32} bytes, received {length}", field="length")
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def aes128_ctr_keystream_into(key: bytes, out: memoryview) -> None:
    """Fill ``out`` with AES-128-CTR keystream from an all-zero counter block.

    Writing straight into the caller's buffer (a numpy array's memory) avoids
    allocating and copying megabytes per mask. A zero initial counter is safe
    only because every caller derives ``key`` freshly with HKDF for one
    (seed, label) pair and uses it for one stream, so the same key never
    encrypts two different messages (NIST SP 800-38A §B.2).

    Parameters
    ----------
    key
        16-byte AES key, used for this one stream only.
    out
        Writable byte buffer; its whole length is filled.

    Raises
    ------
    InvalidInputError
        When ``key`` is not 16 bytes or ``out`` is read-only.

    """
    if len(key) != _AES128_KEY_BYTES:
        raise InvalidInputError(f"expected a 16-byte key, received {len(key)} bytes", field="key")
    if out.readonly:
        raise InvalidInputError("expected a writable buffer", field="out")
    encryptor = Cipher(algorithms.AES(key), modes.CTR(_ZERO_COUNTER_BLOCK)).encryptor()
    encryptor.update_into(_zeros(out.nbytes), out)
    encryptor.finalize()  # CTR buffers nothing; finalize only closes the context.


def _zeros(length: int) -> memoryview:
    """Return ``length`` zero bytes sliced from a shared read-only buffer.

    Allocating a fresh zero buffer per call costs more than the encryption
    itself (page faults on every new megabyte), so up to 16 MiB is kept.
    """
    global _ZERO_BUFFER
    if length > _MAX_CACHED_ZEROS:
        return memoryview(bytes(length))
    if len(_ZERO_BUFFER) < length:
        _ZERO_BUFFER = bytes(min(_MAX_CACHED_ZEROS, max(length, 2 * len(_ZERO_BUFFER))))
    return memoryview(_ZERO_BUFFER)[:length]


def x25519_generate_private(random_bytes: RandomBytes = os.urandom) -> bytes:
    """Return a fresh raw 32-byte X25519 private key drawn from ``random_bytes``.

    Clamping (RFC 7748 §5) happens inside every scalar multiplication, so any
    32 random bytes are a valid private key.

    Raises
    ------
    InvalidInputError
        When ``random_bytes`` returns the wrong number of bytes.

    """
    private = random_bytes(X25519_KEY_BYTES)
    if len(private) != X25519_KEY_BYTES:
        raise InvalidInputError(f"expected 32 random bytes, received {len(private)}", field="random_bytes")
    return private


def x25519_public_key(private_key: bytes) -> bytes:
    """Return the raw 32-byte public key of a raw X25519 private key (RFC 7748 §6.1).

    Raises
    ------
    InvalidInputError
        When ``private_key`` is not 32 bytes.

    """
    return _private(private_key).public_key().public_bytes_raw()


def x25519_agree(private_key: bytes, peer_public_key: bytes) -> bytes:
    """Return the raw X25519 shared secret (RFC 7748 §6.1).

    Raises
    ------
    InvalidInputError
        When either key is not 32 bytes.
    KeyAgreementError
        When the peer key is of low order, so the shared secret would be all
        zeros (the check RFC 7748 §6.1 recommends).

    """
    if len(peer_public_key) != X25519_KEY_BYTES:
        raise InvalidInputError(
            f"expected a 32-byte public key, received {len(peer_public_key)} bytes", field="peer_public_key"
        )
    try:
        return _private(private_key).exchange(x25519.X25519PublicKey.from_public_bytes(peer_public_key))
    except ValueError as exc:
        raise KeyAgreementError() from exc


def _private(private_key: bytes) -> x25519.X25519PrivateKey:
    if len(private_key) != X25519_KEY_BYTES:
        raise InvalidInputError(
            f"expected a 32-byte private key, received {len(private_key)} bytes", field="private_key"
        )
    return x25519.X25519PrivateKey.from_private_bytes(private_key)

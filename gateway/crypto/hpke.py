"""RFC 9180 HPKE in base mode with DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM.

Used to carry a subject token and the querier's mask seed to each answering
member, so the bureau routes ciphertexts only (ARCHITECTURE §5). The single-shot
API of RFC 9180 §6.1 is used: one fresh ephemeral key and one message per box.

Wire format of a sealed box (version 1)::

    0x01 || enc (32 bytes, the ephemeral X25519 public key) || ciphertext (AES-128-GCM, 16-byte tag)

The version byte names this exact suite. A future version with another suite
MUST also be bound into ``info`` so that one version's box cannot be opened as
another's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.bindings._rust import openssl as _rust_openssl
from cryptography.hazmat.primitives.asymmetric import x25519
from cryptography.hazmat.primitives.hpke import AEAD, KDF, KEM, Suite

from gateway.crypto.encoding import length_prefixed, length_prefixed_all
from gateway.crypto.errors import DecryptionError, KeyAgreementError
from gateway.errors import InvalidInputError

__all__ = ["HPKE_INFO_PREFIX", "SEALED_BOX_VERSION", "SealedBox", "hpke_info", "open_sealed", "seal"]

SEALED_BOX_VERSION = 1
HPKE_INFO_PREFIX = b"credgate/v1/"
_ENC_BYTES = 32  # Nenc of DHKEM(X25519, HKDF-SHA256), RFC 9180 §7.1.
_TAG_BYTES = 16  # Nt of AES-128-GCM, RFC 9180 §7.3.
_KEY_BYTES = 32
_LABEL = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_SUITE = Suite(KEM.X25519, KDF.HKDF_SHA256, AEAD.AES_128_GCM)

# Known hack: cryptography 50 offers RFC 9180 §6.1 `aad` only through these two
# underscore functions (its public `Suite.encrypt`/`decrypt` call them with
# aad=None, i.e. empty aad, and its own RFC 9180 vector tests use them). If a
# release drops them this import fails loudly at start-up instead of silently
# dropping the aad binding.
_encrypt_with_aad = _rust_openssl.hpke._encrypt_with_aad
_decrypt_with_aad = _rust_openssl.hpke._decrypt_with_aad


@dataclass(frozen=True)
class SealedBox:
    """An HPKE single-shot ciphertext: the encapsulated key and the AEAD output.

    Attributes
    ----------
    enc
        The 32-byte encapsulated key (the sender's ephemeral X25519 public key).
    ciphertext
        AES-128-GCM ciphertext followed by its 16-byte tag.

    Raises
    ------
    InvalidInputError
        At construction, when ``enc`` is not 32 bytes or ``ciphertext`` is
        shorter than a tag.

    """

    enc: bytes
    ciphertext: bytes

    def __post_init__(self) -> None:
        """Validate sizes at construction (STYLE §3)."""
        if len(self.enc) != _ENC_BYTES:
            raise InvalidInputError(f"expected 32 bytes, received {len(self.enc)}", field="enc")
        if len(self.ciphertext) < _TAG_BYTES:
            raise InvalidInputError(
                f"expected at least {_TAG_BYTES} bytes, received {len(self.ciphertext)}", field="ciphertext"
            )

    def to_bytes(self) -> bytes:
        """Serialise as ``version || enc || ciphertext``."""
        return bytes([SEALED_BOX_VERSION]) + self.enc + self.ciphertext

    @classmethod
    def from_bytes(cls, data: bytes) -> SealedBox:
        """Parse the wire form written by :meth:`to_bytes`.

        Raises
        ------
        InvalidInputError
            When the version byte is unknown or the data is too short.

        """
        if not data or data[0] != SEALED_BOX_VERSION:
            received = data[0] if data else None
            raise InvalidInputError(
                f"expected version {SEALED_BOX_VERSION}, received {received}", field="sealed_box"
            )
        minimum = 1 + _ENC_BYTES + _TAG_BYTES
        if len(data) < minimum:
            raise InvalidInputError(
                f"expected at least {minimum} bytes, received {len(data)}", field="sealed_box"
            )
        return cls(enc=data[1 : 1 + _ENC_BYTES], ciphertext=data[1 + _ENC_BYTES :])


def hpke_info(label: str, *parts: bytes) -> bytes:
    """Build an unambiguous, domain-separated HPKE ``info`` string.

    The layout is ``b"credgate/v1/" || I2OSP(len(label), 2) || label`` followed
    by every part as ``I2OSP(len(part), 2) || part``. Because every field is
    length-prefixed, two different (label, parts) lists never collide; RFC 9180
    §8.1 recommends ``info`` for exactly this application context.

    Parameters
    ----------
    label
        What the box is for, e.g. ``"subject-check"``: lower-case ASCII letters,
        digits, ``.``, ``_`` or ``-``, at most 64 characters.
    *parts
        Context bound into the key schedule, e.g. query id, attempt number and
        recipient member id, each already encoded as bytes.

    Returns
    -------
    bytes
        The ``info`` to pass to :func:`seal` and :func:`open_sealed`.

    Raises
    ------
    InvalidInputError
        When the label is malformed or a part is longer than 65,535 bytes.

    """
    if not _LABEL.fullmatch(label):
        raise InvalidInputError(f"expected a lower-case ASCII label, received {label!r}", field="label")
    return HPKE_INFO_PREFIX + length_prefixed(label.encode("ascii")) + length_prefixed_all(parts)


def seal(recipient_public_key: bytes, plaintext: bytes, *, info: bytes, aad: bytes) -> SealedBox:
    """Encrypt ``plaintext`` to a recipient's raw X25519 public key (RFC 9180 §6.1 SealBase).

    The ephemeral key is drawn inside the library from the OS generator; it
    cannot be injected, which is why seal is tested by round trips and the
    vectors are checked through :func:`open_sealed`.

    Parameters
    ----------
    recipient_public_key
        The recipient's 32-byte X25519 public key, taken from its verified key bundle.
    plaintext
        The message.
    info
        Application context bound into the key schedule; build it with :func:`hpke_info`.
    aad
        Additional authenticated data bound by the AEAD.

    Returns
    -------
    SealedBox
        The encapsulated key and ciphertext.

    Raises
    ------
    InvalidInputError
        When the public key is not 32 bytes.
    KeyAgreementError
        When the public key is of low order.

    """
    if len(recipient_public_key) != _KEY_BYTES:
        raise InvalidInputError(
            f"expected 32 bytes, received {len(recipient_public_key)}", field="recipient_public_key"
        )
    public_key = x25519.X25519PublicKey.from_public_bytes(recipient_public_key)
    try:
        output = _encrypt_with_aad(_SUITE, plaintext, public_key, info=info, aad=aad)
    except ValueError as exc:
        raise KeyAgreementError() from exc
    return SealedBox(enc=output[:_ENC_BYTES], ciphertext=output[_ENC_BYTES:])


def open_sealed(private_key: bytes, box: SealedBox, *, info: bytes, aad: bytes) -> bytes:
    """Decrypt a box sealed to our public key (RFC 9180 §6.1 OpenBase).

    Parameters
    ----------
    private_key
        Our raw 32-byte X25519 private key.
    box
        The received box.
    info
        The ``info`` the sender must have used; rebuilt locally, never taken from the wire.
    aad
        The additional authenticated data the sender must have used.

    Returns
    -------
    bytes
        The plaintext.

    Raises
    ------
    DecryptionError
        On any failure: wrong key, different ``info`` or ``aad``, a tampered
        ``enc`` or ciphertext. Deliberately one error with one message.

    """
    try:
        key = x25519.X25519PrivateKey.from_private_bytes(private_key)
        return _decrypt_with_aad(_SUITE, box.enc + box.ciphertext, key, info=info, aad=aad)
    except (InvalidTag, ValueError) as exc:
        raise DecryptionError() from exc

"""Errors raised by the crypto package.

Crypto failures are deliberately coarse (STYLE §4): one error class per
operation and one fixed message, so that a peer probing with crafted inputs
learns nothing about which check failed.
"""

from __future__ import annotations

from gateway.errors import GatewayError

__all__ = ["CryptoError", "DecryptionError", "KeyAgreementError", "KeyBundleError", "KeyFileError"]


class CryptoError(GatewayError):
    """Root of the crypto package's errors."""

    reason = "crypto_failed"


class DecryptionError(CryptoError):
    """An HPKE box could not be opened: wrong key, wrong context or tampered data."""

    reason = "decryption_failed"

    def __init__(self) -> None:
        super().__init__("sealed box could not be opened")


class KeyAgreementError(CryptoError):
    """An X25519 agreement failed: the peer's public key is malformed or of low order."""

    reason = "key_agreement_failed"

    def __init__(self) -> None:
        super().__init__("key agreement with the peer's public key failed")


class KeyBundleError(CryptoError):
    """A peer's key bundle failed verification against its certificate."""

    reason = "key_bundle_invalid"

    def __init__(self, member_id: str) -> None:
        super().__init__(f"key bundle for member {member_id!r} failed verification")
        self.member_id = member_id


class KeyFileError(CryptoError):
    """A node key file is missing, malformed or readable by others."""

    reason = "key_file_invalid"

"""The only package that imports ``cryptography.hazmat`` (STYLE §3).

HPKE sealing of tokens and seeds (RFC 9180), the node's long-term X25519 keys,
the CA-certified key bundle that publishes them, and small typed primitives
(HKDF, AES-CTR keystream, X25519) for the masked-aggregation arithmetic.
"""

from gateway.crypto.bundle import KeyBundle, VerifiedKeyBundle, sign_bundle, verify_bundle
from gateway.crypto.errors import (
    CryptoError,
    DecryptionError,
    KeyAgreementError,
    KeyBundleError,
    KeyFileError,
)
from gateway.crypto.hpke import SealedBox, hpke_info, open_sealed, seal
from gateway.crypto.keys import KeyPair, NodeKeys

__all__ = [
    "CryptoError",
    "DecryptionError",
    "KeyAgreementError",
    "KeyBundle",
    "KeyBundleError",
    "KeyFileError",
    "KeyPair",
    "NodeKeys",
    "SealedBox",
    "VerifiedKeyBundle",
    "hpke_info",
    "open_sealed",
    "seal",
    "sign_bundle",
    "verify_bundle",
]

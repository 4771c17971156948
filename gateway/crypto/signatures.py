"""Domain-separated signatures with a node's TLS key, verified against the consortium CA.

A node signs ``I2OSP(len(label), 2) || label || message`` with the private key its consortium
certificate certifies (ECDSA P-256, SHA-256, DER signature). A verifier that receives the
certificate second-hand (relayed by the bureau, or shipped beside a file) checks it itself:
issued directly by the CA, valid at the given time, optionally not revoked; then the
signature. Key bundles and model files are signed this way, under different labels.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Protocol

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from gateway.crypto.encoding import length_prefixed
from gateway.errors import GatewayError, InvalidInputError
from gateway.identity.peer import Peer, peer_from_certificate

__all__ = ["SerialCheck", "SignatureInvalid", "sign_with_tls_key", "verify_with_certificate"]


class SerialCheck(Protocol):
    """Raises when a certificate serial is revoked (the node's revocation list)."""

    def check(self, serial: int) -> None:
        """Raise ``IdentityError`` when ``serial`` is revoked."""


class SignatureInvalid(ValueError):
    """Internal: why a signature did not verify; callers raise their own, uniform error."""


def _labelled(label: bytes, message: bytes) -> bytes:
    return length_prefixed(label) + message


def sign_with_tls_key(label: bytes, message: bytes, tls_private_key_pem: bytes, *, field: str) -> bytes:
    """Sign ``message`` under ``label`` with a TLS private key.

    Raises
    ------
    InvalidInputError
        Naming ``field``, when the PEM is not an unencrypted EC P-256 private key.

    """
    try:
        key = _private_key(tls_private_key_pem)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError("expected an unencrypted PEM private key", field=field) from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise InvalidInputError("expected an EC P-256 private key", field=field)
    return key.sign(_labelled(label, message), ec.ECDSA(hashes.SHA256()))


@functools.lru_cache(maxsize=8)
def _private_key(pem: bytes) -> object:
    """Parsing a PEM key costs more than signing with it: a node signs with one key, many times."""
    return serialization.load_pem_private_key(pem, password=None)


@functools.lru_cache(maxsize=256)
def _issued_certificate(certificate_pem: bytes, ca_certificate_pem: bytes) -> x509.Certificate:
    """Parse ``certificate_pem`` and check the CA issued it (cached: both are immutable inputs).

    Validity in time and revocation are checked on every use by the caller, never cached.
    """
    certificate = x509.load_pem_x509_certificate(certificate_pem)
    certificate.verify_directly_issued_by(x509.load_pem_x509_certificate(ca_certificate_pem))
    return certificate


def verify_with_certificate(
    label: bytes,
    unverified_message: bytes,
    signature: bytes,
    certificate_pem: bytes,
    *,
    ca_certificate_pem: bytes,
    now: dt.datetime,
    revocation: SerialCheck | None = None,
) -> Peer:
    """Verify a signature made by :func:`sign_with_tls_key`; return the signer named by the certificate.

    Raises
    ------
    SignatureInvalid
        On any failure (the certificate, its validity, revocation, the key type or the
        signature); the cause is chained for logs. Callers turn it into their own error.

    """
    try:
        certificate = _issued_certificate(certificate_pem, ca_certificate_pem)
        if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
            raise ValueError("certificate not valid at the given time")
        if revocation is not None:
            revocation.check(certificate.serial_number)
        signer = peer_from_certificate(certificate)
        public_key = certificate.public_key()
        if not isinstance(public_key, ec.EllipticCurvePublicKey) or not isinstance(
            public_key.curve, ec.SECP256R1
        ):
            raise TypeError("certificate key is not EC P-256")
        public_key.verify(signature, _labelled(label, unverified_message), ec.ECDSA(hashes.SHA256()))
    except (GatewayError, InvalidSignature, TypeError, ValueError) as exc:
        raise SignatureInvalid(str(exc) or type(exc).__name__) from exc
    return signer

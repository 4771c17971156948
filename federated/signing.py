"""Signatures over model files with the bureau's TLS key, verified against the consortium CA.

The signed message is ``I2OSP(len(label), 2) || label || SHA-256(model file bytes)`` with the
label ``b"credgate/v1/model"``, made and checked by :mod:`gateway.crypto.signatures` like the
members' key bundles; only a certificate with role ``bureau`` may sign a model.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from federated.errors import ModelVerificationError
from gateway.crypto.signatures import SignatureInvalid, sign_with_tls_key, verify_with_certificate
from gateway.identity.peer import Peer
from gateway.roles import Role

__all__ = ["MODEL_SIGNATURE_LABEL", "sign_model", "verify_model_signature"]

MODEL_SIGNATURE_LABEL = b"credgate/v1/model"


def sign_model(model_bytes: bytes, tls_private_key_pem: bytes) -> bytes:
    """Sign a model file's bytes with the bureau's TLS private key.

    Raises
    ------
    InvalidInputError
        When the PEM is not an unencrypted EC P-256 private key.

    """
    digest = hashlib.sha256(model_bytes).digest()
    return sign_with_tls_key(MODEL_SIGNATURE_LABEL, digest, tls_private_key_pem, field="bureau-key")


def verify_model_signature(
    name: str,
    unverified_model_bytes: bytes,
    signature: bytes,
    certificate_pem: bytes,
    *,
    ca_certificate_pem: bytes,
    now: dt.datetime,
) -> Peer:
    """Verify a model file's signature against the bureau's certificate and the consortium CA.

    Returns
    -------
    Peer
        The signer (a bureau).

    Raises
    ------
    ModelVerificationError
        On any failure; one error with the cause chained for logs only.

    """
    try:
        signer = verify_with_certificate(
            MODEL_SIGNATURE_LABEL,
            hashlib.sha256(unverified_model_bytes).digest(),
            signature,
            certificate_pem,
            ca_certificate_pem=ca_certificate_pem,
            now=now,
        )
        if signer.role is not Role.BUREAU:
            raise SignatureInvalid("model not signed by a bureau")
    except SignatureInvalid as exc:
        raise ModelVerificationError(name) from exc
    return signer

"""The signed key bundle that publishes a node's HPKE and mask public keys.

A bundle is signed with the node's TLS private key (ECDSA P-256), the key its
consortium certificate certifies, so the CA vouches for the bundle through that
certificate. The bureau relays bundles; every member verifies each peer's
bundle against that peer's certificate and the consortium CA before using its
keys, so the bureau cannot substitute keys of its own.

Canonical encoding (version 1)::

    0x01 || I2OSP(len(member_id), 2) || member_id (UTF-8)
         || hpke_public_key (32) || mask_public_key (32)
         || I2OSP(created_at in microseconds since the Unix epoch, 8)

The signed message is ``I2OSP(len(label), 2) || label || encoding`` with the
label ``b"credgate/v1/key-bundle"`` (STYLE §3: every signature is domain separated).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from gateway.crypto.encoding import i2osp, length_prefixed
from gateway.crypto.errors import KeyBundleError
from gateway.crypto.keys import NodeKeys
from gateway.crypto.primitives import X25519_KEY_BYTES
from gateway.crypto.signatures import (
    SerialCheck,
    SignatureInvalid,
    sign_with_tls_key,
    verify_with_certificate,
)
from gateway.errors import InvalidInputError
from gateway.identity.ca.authority import MEMBER_ID_PATTERN
from gateway.roles import Role

__all__ = [
    "BUNDLE_SIGNATURE_LABEL",
    "KEY_BUNDLE_VERSION",
    "KeyBundle",
    "SerialCheck",
    "VerifiedKeyBundle",
    "sign_bundle",
    "verify_bundle",
]

KEY_BUNDLE_VERSION = 1
BUNDLE_SIGNATURE_LABEL = b"credgate/v1/key-bundle"
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class KeyBundle:
    """A node's public keys as published; not trusted until verified.

    Raises
    ------
    InvalidInputError
        At construction, when the member id is not a DNS label, a key is not
        32 bytes or ``created_at`` is naive.

    """

    member_id: str
    hpke_public_key: bytes
    mask_public_key: bytes
    created_at: dt.datetime

    def __post_init__(self) -> None:
        """Validate sizes and types at construction (STYLE §3)."""
        if not isinstance(self.member_id, str) or not MEMBER_ID_PATTERN.fullmatch(self.member_id):
            raise InvalidInputError(f"expected a DNS label, received {self.member_id!r}", field="member_id")
        for name in ("hpke_public_key", "mask_public_key"):
            value = getattr(self, name)
            if not isinstance(value, bytes) or len(value) != X25519_KEY_BYTES:
                raise InvalidInputError("expected 32 bytes", field=name)
        if (
            not isinstance(self.created_at, dt.datetime)
            or self.created_at.utcoffset() is None
            or self.created_at < _EPOCH
        ):
            raise InvalidInputError("expected a timezone-aware time after 1970", field="created_at")

    @classmethod
    def for_node(cls, member_id: str, keys: NodeKeys, *, created_at: dt.datetime) -> KeyBundle:
        """Describe ``keys`` as the bundle of ``member_id``."""
        return cls(member_id, keys.hpke.public_key, keys.mask.public_key, created_at)

    def to_bytes(self) -> bytes:
        """Return the canonical encoding described in the module docstring."""
        micros = (self.created_at - _EPOCH) // dt.timedelta(microseconds=1)
        return (
            bytes([KEY_BUNDLE_VERSION])
            + length_prefixed(self.member_id.encode("utf-8"))
            + self.hpke_public_key
            + self.mask_public_key
            + i2osp(micros, 8)
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> KeyBundle:
        """Parse the canonical encoding; the result is still unverified.

        Raises
        ------
        InvalidInputError
            When the version is unknown or the layout is malformed.

        """
        if not data or data[0] != KEY_BUNDLE_VERSION:
            raise InvalidInputError(f"expected version {KEY_BUNDLE_VERSION}", field="key_bundle")
        id_length = int.from_bytes(data[1:3], "big")
        expected = 3 + id_length + 2 * X25519_KEY_BYTES + 8
        if len(data) != expected:
            raise InvalidInputError(f"expected {expected} bytes, received {len(data)}", field="key_bundle")
        keys_at = 3 + id_length
        try:
            member_id = data[3:keys_at].decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInputError("member id is not UTF-8", field="key_bundle") from None
        micros = int.from_bytes(data[-8:], "big")
        return cls(
            member_id=member_id,
            hpke_public_key=data[keys_at : keys_at + X25519_KEY_BYTES],
            mask_public_key=data[keys_at + X25519_KEY_BYTES : -8],
            created_at=_EPOCH + dt.timedelta(microseconds=micros),
        )


@dataclass(frozen=True)
class VerifiedKeyBundle:
    """A key bundle whose signature, certificate and member id have been checked.

    Only :func:`verify_bundle` creates one; protocol code takes peer keys from
    this type, never from a bare :class:`KeyBundle`.
    """

    bundle: KeyBundle
    certificate_serial: int
    certificate_fingerprint: str
    # The role the certificate names (never the directory's word for it).
    role: Role

    @property
    def member_id(self) -> str:
        """The member the bundle belongs to (equal to its certificate's member id)."""
        return self.bundle.member_id

    @property
    def hpke_public_key(self) -> bytes:
        """Raw X25519 key to seal tokens and seeds to."""
        return self.bundle.hpke_public_key

    @property
    def mask_public_key(self) -> bytes:
        """Raw X25519 key for pairwise mask agreement."""
        return self.bundle.mask_public_key


def sign_bundle(bundle: KeyBundle, tls_private_key_pem: bytes) -> bytes:
    """Sign a bundle with the node's TLS private key (ECDSA P-256, SHA-256, DER signature).

    Raises
    ------
    InvalidInputError
        When the PEM is not an unencrypted EC P-256 private key.

    """
    return sign_with_tls_key(
        BUNDLE_SIGNATURE_LABEL, bundle.to_bytes(), tls_private_key_pem, field="tls_private_key_pem"
    )


def verify_bundle(
    unverified_bundle: KeyBundle,
    signature: bytes,
    certificate_pem: bytes,
    *,
    ca_certificate_pem: bytes,
    revocation: SerialCheck,
    now: dt.datetime,
) -> VerifiedKeyBundle:
    """Verify a relayed bundle against its member's certificate and the consortium CA.

    The certificate arrives through the bureau, not through a TLS handshake with
    its owner, so this function checks it itself: issued directly by the CA,
    valid at ``now``, not revoked, naming the bundle's member id; then the
    signature over the labelled canonical encoding.

    Parameters
    ----------
    unverified_bundle
        The bundle as relayed.
    signature
        DER ECDSA signature from :func:`sign_bundle`.
    certificate_pem
        The member's TLS certificate.
    ca_certificate_pem
        The consortium CA certificate (the trust anchor).
    revocation
        Revocation check for the certificate serial, e.g. the node's ``RevocationList``.
    now
        Current time (injectable for tests).

    Returns
    -------
    VerifiedKeyBundle
        The trusted bundle.

    Raises
    ------
    KeyBundleError
        On any failure; deliberately one error, with the cause chained for logs only.

    """
    member_id = unverified_bundle.member_id
    try:
        peer = verify_with_certificate(
            BUNDLE_SIGNATURE_LABEL,
            unverified_bundle.to_bytes(),
            signature,
            certificate_pem,
            ca_certificate_pem=ca_certificate_pem,
            now=now,
            revocation=revocation,
        )
        if peer.member_id != member_id:
            raise SignatureInvalid("certificate names another member")
    except SignatureInvalid as exc:
        raise KeyBundleError(member_id) from exc
    return VerifiedKeyBundle(unverified_bundle, peer.serial, peer.fingerprint, peer.role)

"""The verified identity of the caller, read from its mTLS certificate.

A node never takes a member id or a role from a request field or from call
metadata: both come from the client certificate that the TLS handshake has
already verified against the consortium CA.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from gateway.errors import IdentityError
from gateway.roles import Role

__all__ = ["MEMBER_URI_PREFIX", "ROLE_URI_PREFIX", "Peer", "Role", "peer_from_certificate", "peer_from_pem"]

MEMBER_URI_PREFIX = "urn:credgate:member:"
ROLE_URI_PREFIX = "urn:credgate:role:"


@dataclass(frozen=True)
class Peer:
    """A caller whose certificate chain the TLS handshake verified.

    Attributes
    ----------
    member_id
        Consortium member id from the certificate's ``urn:credgate:member:`` URI.
    role
        Role from the certificate's ``urn:credgate:role:`` URI.
    serial
        Certificate serial number, checked against the revocation list.
    fingerprint
        SHA-256 of the DER certificate, hex.
    not_after
        End of the certificate's validity (UTC).

    """

    member_id: str
    role: Role
    serial: int
    fingerprint: str
    not_after: datetime


def peer_from_certificate(certificate: x509.Certificate) -> Peer:
    """Read the member id and role a consortium certificate was issued for.

    Raises
    ------
    IdentityError
        When the certificate lacks exactly one member URI and one known role URI.

    """
    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        raise IdentityError("certificate has no subjectAltName with a credgate member URI") from None
    uris = san.get_values_for_type(x509.UniformResourceIdentifier)
    member_ids = [u.removeprefix(MEMBER_URI_PREFIX) for u in uris if u.startswith(MEMBER_URI_PREFIX)]
    roles = [u.removeprefix(ROLE_URI_PREFIX) for u in uris if u.startswith(ROLE_URI_PREFIX)]
    if len(member_ids) != 1 or len(roles) != 1:
        raise IdentityError(
            f"certificate must name exactly one member and one role, found {len(member_ids)} and {len(roles)}"
        )
    try:
        role = Role(roles[0])
    except ValueError:
        raise IdentityError(f"certificate names unknown role {roles[0]!r}") from None
    return Peer(
        member_id=member_ids[0],
        role=role,
        serial=certificate.serial_number,
        fingerprint=certificate.fingerprint(hashes.SHA256()).hex(),
        not_after=certificate.not_valid_after_utc,
    )


@functools.lru_cache(maxsize=1024)
def peer_from_pem(pem: bytes) -> Peer:
    """Parse a PEM certificate (as gRPC's auth context hands it over) into a :class:`Peer`.

    Cached: a long-lived channel presents the same certificate on every call.

    Raises
    ------
    IdentityError
        When the PEM does not parse or lacks the credgate identity URIs.

    """
    try:
        certificate = x509.load_pem_x509_certificate(pem)
    except ValueError:
        raise IdentityError("peer certificate is not valid PEM") from None
    return peer_from_certificate(certificate)

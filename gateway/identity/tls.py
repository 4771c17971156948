"""A node's TLS material and the gRPC credentials built from it.

Every channel is mutual TLS: servers require a client certificate from the
consortium CA, and clients verify the server against the same CA under the
peer's member id as the TLS target name.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import grpc
from cryptography import x509
from cryptography.exceptions import InvalidSignature

from gateway.clock import Clock, system_clock
from gateway.config import TLSSettings
from gateway.errors import IdentityError
from gateway.identity.peer import Peer, peer_from_certificate
from gateway.identity.revocation import RevocationList


@dataclass(frozen=True)
class TLSIdentity:
    """A node's own key and certificate, the CA it trusts, and the CA's CRL."""

    key_pem: bytes
    cert_pem: bytes
    ca_pem: bytes
    own: Peer
    ca_certificate: x509.Certificate
    revocations: RevocationList

    @classmethod
    def from_settings(cls, tls: TLSSettings, *, clock: Clock = system_clock) -> TLSIdentity:
        """Load and cross-check the files named in ``[tls]``.

        Raises
        ------
        IdentityError
            When a file is missing or unreadable, or the certificate was not
            issued by the configured CA.

        """
        key_pem, cert_pem, ca_pem = (
            _read(tls.key, "key"),
            _read(tls.cert, "cert"),
            _read(tls.ca_cert, "ca_cert"),
        )
        try:
            certificate = x509.load_pem_x509_certificate(cert_pem)
            ca_certificate = x509.load_pem_x509_certificate(ca_pem)
        except ValueError as exc:
            raise IdentityError("tls.cert or tls.ca_cert is not a PEM certificate") from exc
        try:
            certificate.verify_directly_issued_by(ca_certificate)
        except (ValueError, TypeError, InvalidSignature) as exc:
            raise IdentityError(f"{tls.cert} was not issued by the CA in {tls.ca_cert}") from exc
        return cls(
            key_pem,
            cert_pem,
            ca_pem,
            peer_from_certificate(certificate),
            ca_certificate,
            RevocationList(tls.crl, ca_certificate, clock=clock),
        )

    def server_credentials(self) -> grpc.ServerCredentials:
        """Server credentials that demand and verify a client certificate."""
        return grpc.ssl_server_credentials(
            [(self.key_pem, self.cert_pem)], root_certificates=self.ca_pem, require_client_auth=True
        )

    def channel_credentials(self) -> grpc.ChannelCredentials:
        """Client credentials presenting this node's certificate."""
        return grpc.ssl_channel_credentials(
            root_certificates=self.ca_pem, private_key=self.key_pem, certificate_chain=self.cert_pem
        )

    def expires_within(self, window: dt.timedelta, *, now: dt.datetime) -> bool:
        """Whether this node's certificate expires before ``now + window``."""
        return self.own.not_after <= now + window


def _read(path: Path, key: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise IdentityError(f"tls.{key}: cannot read {path} ({exc.strerror})") from exc

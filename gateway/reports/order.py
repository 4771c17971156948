"""The regulator's signed order: what a member charges, and to whom.

A regulator orders a report by signing ``(template, period, nonce)`` with the key of its own
consortium certificate (role ``regulator``). The bureau forwards the order, the signature and
the certificate its TLS handshake saw; every member verifies them itself and keys its ledger
on the identity the certificate names. The bureau therefore cannot mint regulators (a made-up
id has no certificate), re-target a charge (the signature covers the order) or make up a
request (it cannot sign). The nonce is the request's identity: the regulator keeps it for
every retry of the same request, so members recognise a retry and re-serve what they
answered instead of charging a second release (issue #17 item 2).

Canonical encoding (version 1), signed under the label ``credgate/v1/report-order``::

    0x01 || I2OSP(len(template_id), 2) || template_id || I2OSP(len(period), 2) || period
         || nonce (16)

The request hash that names the request everywhere (masks, ledger, cache) also binds the
regulator's identity and the template version::

    SHA-256(len-prefixed "credgate/v1/report-request" || len-prefixed template_id
            || len-prefixed period || len-prefixed regulator id || len-prefixed nonce
            || I2OSP(template_version, 4))
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ssl
from dataclasses import dataclass

from gateway.crypto.encoding import i2osp, length_prefixed
from gateway.crypto.signatures import (
    SerialCheck,
    SignatureInvalid,
    sign_with_tls_key,
    verify_with_certificate,
)
from gateway.errors import IdentityError, InvalidInputError, PolicyDenied
from gateway.identity.peer import Peer
from gateway.reports.histograms import Period
from gateway.roles import Role

__all__ = [
    "NONCE_BYTES",
    "ORDER_SIGNATURE_LABEL",
    "ReportOrder",
    "SignedOrder",
    "VerifiedOrder",
    "request_hash",
    "sign_order",
    "verify_order",
]

ORDER_VERSION = 0x01
ORDER_SIGNATURE_LABEL = b"credgate/v1/report-order"
_REQUEST_LABEL = b"credgate/v1/report-request"
NONCE_BYTES = 16


@dataclass(frozen=True)
class ReportOrder:
    """What the regulator asks for; not trusted until verified.

    Raises
    ------
    InvalidInputError
        At construction, when the period is not ``YYYY-MM``, the template id is empty or the
        nonce is not 16 bytes.

    """

    template_id: str
    period: str
    nonce: bytes

    def __post_init__(self) -> None:
        """Validate at construction (STYLE §3)."""
        Period.parse(self.period)
        if not self.template_id or len(self.template_id) > 64 or not self.template_id.isascii():
            raise InvalidInputError("expected a template id", field="template_id")
        if not isinstance(self.nonce, bytes) or len(self.nonce) != NONCE_BYTES:
            raise InvalidInputError(f"expected {NONCE_BYTES} bytes", field="nonce")

    def encode(self) -> bytes:
        """The canonical bytes the regulator signs."""
        return (
            bytes([ORDER_VERSION])
            + length_prefixed(self.template_id.encode("ascii"))
            + length_prefixed(self.period.encode("ascii"))
            + self.nonce
        )


@dataclass(frozen=True)
class SignedOrder:
    """An order as it travels: the regulator's signature and certificate (DER), unverified."""

    order: ReportOrder
    signature: bytes
    certificate_der: bytes


@dataclass(frozen=True)
class VerifiedOrder:
    """An order whose signature a node checked against the consortium CA; ``regulator`` signed it."""

    order: ReportOrder
    regulator: Peer
    signed: SignedOrder

    def request_hash(self, template_version: int) -> bytes:
        """The hash naming this request (see the module docstring)."""
        return request_hash(self.order, self.regulator.member_id, template_version)


def sign_order(order: ReportOrder, tls_private_key_pem: bytes) -> bytes:
    """The regulator's signature over ``order`` with its certificate's key."""
    return sign_with_tls_key(ORDER_SIGNATURE_LABEL, order.encode(), tls_private_key_pem, field="tls.key")


def verify_order(
    signed: SignedOrder, *, ca_certificate_pem: bytes, revocation: SerialCheck, now: dt.datetime
) -> VerifiedOrder:
    """Check the order's signature and that its certificate is a valid regulator's.

    Raises
    ------
    IdentityError
        When the certificate is not the CA's, not valid now, revoked, or the signature does not
        verify (one coarse error: which check failed is logged, not told).
    PolicyDenied
        When the certificate is valid but not a regulator's.

    """
    try:
        pem = ssl.DER_cert_to_PEM_cert(signed.certificate_der).encode("ascii")
    except (ValueError, TypeError) as exc:
        raise IdentityError("the regulator's certificate is not a DER certificate") from exc
    try:
        signer = verify_with_certificate(
            ORDER_SIGNATURE_LABEL,
            signed.order.encode(),
            signed.signature,
            pem,
            ca_certificate_pem=ca_certificate_pem,
            now=now,
            revocation=revocation,
        )
    except SignatureInvalid as exc:
        raise IdentityError("the report order's signature does not verify") from exc
    if signer.role is not Role.REGULATOR:
        raise PolicyDenied(
            f"a report order must be signed by a regulator certificate; {signer.member_id} is a "
            f"{signer.role.value}",
            reason="not_a_regulator",
        )
    return VerifiedOrder(signed.order, signer, signed)


def request_hash(order: ReportOrder, regulator_id: str, template_version: int) -> bytes:
    """SHA-256 naming one request: template and version, period, regulator and nonce."""
    digest = hashlib.sha256(length_prefixed(_REQUEST_LABEL))
    for part in (order.template_id.encode(), order.period.encode(), regulator_id.encode(), order.nonce):
        digest.update(length_prefixed(part))
    digest.update(i2osp(template_version, 4))
    return digest.digest()

"""Entrustment grants: a lender's signature that lets an agency clear one debtor for one day.

An agency may clear only debtors a lender entrusted to it (PIPL Art. 21). The bureau cannot
look the entrustment up — it never learns who the debtor is — so the lender signs, for every
entrusted debtor and every day of the entrustment, the day's debtor tag, the agency, the
channels and whether third parties may be contacted, with the key of its consortium
certificate. The agency presents the day's grant with each clearance; the bureau checks the
certificate against the consortium CA, the signature, and that the grant names the caller,
today, the request's tag and channel. Grants of different days carry different tags and
signatures, so presenting them links nothing across days.

Canonical bytes (signed under the label ``credgate/v1/contact-entrustment``)::

    version (1) ‖ lp(lender) ‖ lp(agency) ‖ day (4) ‖ epoch (4) ‖ lp(debtor tag)
    ‖ lp(sorted channel names joined by ",") ‖ third party (1)
"""

from __future__ import annotations

import datetime as dt
import ssl

from gateway.contact.messages import GRANT_VERSION, EntrustmentGrant
from gateway.crypto.encoding import i2osp, length_prefixed_all
from gateway.crypto.signatures import (
    SerialCheck,
    SignatureInvalid,
    sign_with_tls_key,
    verify_with_certificate,
)
from gateway.errors import InvalidInputError
from gateway.identity.peer import Peer
from gateway.store.enums import ContactChannel

__all__ = ["GRANT_LABEL", "GrantInvalid", "canonical_grant", "sign_grant", "verify_grant"]

GRANT_LABEL = b"credgate/v1/contact-entrustment"


class GrantInvalid(ValueError):
    """Internal: a grant does not verify. The bureau answers ``not_entrusted``, never why."""


def canonical_grant(grant: EntrustmentGrant) -> bytes:
    """The bytes the lender signs."""
    channels = ",".join(sorted(channel.value for channel in grant.channels)).encode("ascii")
    return (
        bytes([grant.version])
        + length_prefixed_all(
            [grant.lender_member_id.encode("ascii"), grant.agency_member_id.encode("ascii")]
        )
        + i2osp(grant.local_day, 4)
        + i2osp(grant.tag_key_epoch, 4)
        + length_prefixed_all([grant.debtor_tag, channels])
        + bytes([1 if grant.third_party_allowed else 0])
    )


def sign_grant(
    *,
    lender_member_id: str,
    agency_member_id: str,
    local_day: int,
    tag_key_epoch: int,
    debtor_tag: bytes,
    channels: frozenset[ContactChannel],
    third_party_allowed: bool,
    certificate_pem: bytes,
    key_pem: bytes,
) -> EntrustmentGrant:
    """Sign a grant with the lender's certificate key.

    Raises
    ------
    InvalidInputError
        When ``channels`` is empty or the key is not the node's EC P-256 key.

    """
    if not channels:
        raise InvalidInputError("expected at least one channel", field="channels")
    unsigned = EntrustmentGrant(
        lender_member_id=lender_member_id,
        agency_member_id=agency_member_id,
        local_day=local_day,
        tag_key_epoch=tag_key_epoch,
        debtor_tag=debtor_tag,
        channels=channels,
        third_party_allowed=third_party_allowed,
        lender_certificate_der=ssl.PEM_cert_to_DER_cert(certificate_pem.decode("ascii")),
        signature=b"",
    )
    signature = sign_with_tls_key(GRANT_LABEL, canonical_grant(unsigned), key_pem, field="tls.key")
    return EntrustmentGrant(**{**unsigned.__dict__, "signature": signature})


def verify_grant(
    unverified_grant: EntrustmentGrant,
    *,
    ca_certificate_pem: bytes,
    now: dt.datetime,
    revocations: SerialCheck | None,
) -> Peer:
    """Check the grant's certificate and signature; return the lender that signed it.

    The caller still checks what the grant says (agency, day, tag, channel).

    Raises
    ------
    GrantInvalid
        When the version is unknown, the certificate is not a current, unrevoked consortium
        lender certificate for the named lender, or the signature does not verify.

    """
    if unverified_grant.version != GRANT_VERSION:
        raise GrantInvalid(f"unknown grant version {unverified_grant.version}")
    try:
        certificate_pem = ssl.DER_cert_to_PEM_cert(unverified_grant.lender_certificate_der).encode("ascii")
        signer = verify_with_certificate(
            GRANT_LABEL,
            canonical_grant(unverified_grant),
            unverified_grant.signature,
            certificate_pem,
            ca_certificate_pem=ca_certificate_pem,
            now=now,
            revocation=revocations,
        )
    except (SignatureInvalid, ValueError) as exc:
        raise GrantInvalid("the grant's certificate or signature does not verify") from exc
    if signer.member_id != unverified_grant.lender_member_id or not signer.role.is_lender:
        raise GrantInvalid("the grant is not signed by the lender it names")
    return signer

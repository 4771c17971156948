from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography import x509

from gateway.clock import system_clock
from gateway.errors import IdentityError, InvalidInputError, NotFoundError
from gateway.identity.ca import CertificateAuthority
from gateway.identity.peer import Role, peer_from_certificate, peer_from_pem
from gateway.identity.revocation import RevocationList

# The CRL it publishes is checked against the system clock (nextUpdate): derive NOW from it.
NOW = system_clock()


@pytest.fixture
def ca(tmp_path: Path) -> CertificateAuthority:
    return CertificateAuthority.init(tmp_path / "ca", name="test", now=NOW)


def test_issued_certificate_names_member_and_role(ca: CertificateAuthority, tmp_path: Path) -> None:
    issued = ca.issue(member_id="cfc-1", role=Role.CONSUMER_FINANCE, out_dir=tmp_path / "out", now=NOW)

    peer = peer_from_pem(issued.cert_path.read_bytes())
    certificate = x509.load_pem_x509_certificate(issued.cert_path.read_bytes())

    assert (peer.member_id, peer.role, peer.serial) == ("cfc-1", Role.CONSUMER_FINANCE, issued.serial)
    certificate.verify_directly_issued_by(ca.certificate)
    assert stat.S_IMODE(issued.key_path.stat().st_mode) == 0o600
    assert [c.member_id for c in ca.issued()] == ["cfc-1"]


def test_init_refuses_to_overwrite_an_existing_ca(ca: CertificateAuthority) -> None:
    with pytest.raises(IdentityError, match="already holds a CA"):
        CertificateAuthority.init(ca.directory, name="again", now=NOW)


def test_member_ids_must_be_dns_labels(ca: CertificateAuthority, tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="member_id"):
        ca.issue(member_id="Bank One", role=Role.BANK, out_dir=tmp_path, now=NOW)


def test_revocation_lists_the_serial_in_a_ca_signed_crl(ca: CertificateAuthority, tmp_path: Path) -> None:
    issued = ca.issue(member_id="bank-1", role=Role.BANK, out_dir=tmp_path / "a", now=NOW)
    kept = ca.issue(member_id="bank-2", role=Role.BANK, out_dir=tmp_path / "b", now=NOW)
    revocations = RevocationList(ca.directory / "crl.pem", ca.certificate)
    revocations.check(issued.serial)

    assert ca.revoke(member_id="bank-1", now=NOW) == [issued.serial]

    with pytest.raises(IdentityError, match="revoked"):
        revocations.check(issued.serial)
    revocations.check(kept.serial)


def test_revoking_an_unknown_member_is_not_found(ca: CertificateAuthority) -> None:
    with pytest.raises(NotFoundError, match="ghost"):
        ca.revoke(member_id="ghost", now=NOW)


def test_a_crl_signed_by_another_ca_is_refused(ca: CertificateAuthority, tmp_path: Path) -> None:
    other = CertificateAuthority.init(tmp_path / "other", name="other", now=NOW)

    with pytest.raises(IdentityError, match="not signed by the consortium CA"):
        RevocationList(other.directory / "crl.pem", ca.certificate)


def test_an_unreadable_crl_fails_closed(ca: CertificateAuthority, tmp_path: Path) -> None:
    crl = tmp_path / "crl.pem"
    crl.write_text("not a crl")

    with pytest.raises(IdentityError, match="not a readable PEM CRL"):
        RevocationList(crl, ca.certificate)


def test_a_certificate_without_credgate_uris_is_not_a_peer(ca: CertificateAuthority) -> None:
    with pytest.raises(IdentityError, match="subjectAltName"):
        peer_from_certificate(ca.certificate)

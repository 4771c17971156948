"""The signed key bundle: what a member accepts before using a peer's keys."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from gateway.crypto.bundle import (
    KEY_BUNDLE_VERSION,
    KeyBundle,
    SerialCheck,
    VerifiedKeyBundle,
    sign_bundle,
    verify_bundle,
)
from gateway.crypto.errors import KeyBundleError
from gateway.crypto.keys import KeyPair, NodeKeys
from gateway.errors import IdentityError, InvalidInputError
from gateway.identity.ca import CertificateAuthority
from gateway.identity.peer import Role

NOW = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


class NothingRevoked:
    def check(self, serial: int) -> None:
        return None


@dataclass(frozen=True)
class RevokedSerial:
    serial: int

    def check(self, serial: int) -> None:
        if serial == self.serial:
            raise IdentityError("certificate has been revoked")


@dataclass(frozen=True)
class Member:
    member_id: str
    key_pem: bytes
    cert_pem: bytes
    serial: int
    bundle: KeyBundle


def issue(ca: CertificateAuthority, member_id: str, tmp_path: Path) -> Member:
    issued = ca.issue(member_id=member_id, role=Role.BANK, out_dir=tmp_path / member_id, now=NOW)
    keys = NodeKeys.load_or_create(tmp_path / member_id / "keys")
    return Member(
        member_id,
        issued.key_path.read_bytes(),
        issued.cert_path.read_bytes(),
        issued.serial,
        KeyBundle.for_node(member_id, keys, created_at=NOW),
    )


@pytest.fixture
def ca(tmp_path: Path) -> CertificateAuthority:
    return CertificateAuthority.init(tmp_path / "ca", name="test", now=NOW)


@pytest.fixture
def ca_pem(ca: CertificateAuthority) -> bytes:
    return ca.certificate.public_bytes(serialization.Encoding.PEM)


@pytest.fixture
def bank_a(ca: CertificateAuthority, tmp_path: Path) -> Member:
    return issue(ca, "bank-a", tmp_path)


@pytest.fixture
def bank_b(ca: CertificateAuthority, tmp_path: Path) -> Member:
    return issue(ca, "bank-b", tmp_path)


def verify(
    bundle: KeyBundle,
    signature: bytes,
    cert_pem: bytes,
    ca_pem: bytes,
    *,
    now: dt.datetime = NOW,
    revocation: SerialCheck | None = None,
) -> VerifiedKeyBundle:
    return verify_bundle(
        bundle,
        signature,
        cert_pem,
        ca_certificate_pem=ca_pem,
        revocation=revocation or NothingRevoked(),
        now=now,
    )


def test_a_signed_bundle_verifies_against_its_certificate(bank_a: Member, ca_pem: bytes) -> None:
    signature = sign_bundle(bank_a.bundle, bank_a.key_pem)

    verified = verify(bank_a.bundle, signature, bank_a.cert_pem, ca_pem)

    assert verified.bundle == bank_a.bundle and verified.member_id == "bank-a"
    assert verified.hpke_public_key == bank_a.bundle.hpke_public_key
    assert verified.mask_public_key == bank_a.bundle.mask_public_key
    assert verified.certificate_serial == bank_a.serial


def test_substituted_keys_are_refused(bank_a: Member, ca_pem: bytes) -> None:
    # The bureau relays bundles; swapping in its own mask key must be detected.
    signature = sign_bundle(bank_a.bundle, bank_a.key_pem)
    forged = replace(bank_a.bundle, mask_public_key=KeyPair.generate().public_key)
    with pytest.raises(KeyBundleError, match=r"^key bundle for member 'bank-a' failed verification$"):
        verify(forged, signature, bank_a.cert_pem, ca_pem)


def test_a_bundle_signed_with_another_members_key_is_refused(
    bank_a: Member, bank_b: Member, ca_pem: bytes
) -> None:
    signature = sign_bundle(bank_a.bundle, bank_b.key_pem)
    with pytest.raises(KeyBundleError):
        verify(bank_a.bundle, signature, bank_a.cert_pem, ca_pem)


def test_a_certificate_naming_another_member_is_refused(
    bank_a: Member, bank_b: Member, ca_pem: bytes
) -> None:
    # bank-b signs a bundle claiming to be bank-a and presents its own valid certificate.
    claimed = replace(bank_b.bundle, member_id="bank-a")
    signature = sign_bundle(claimed, bank_b.key_pem)
    with pytest.raises(KeyBundleError):
        verify(claimed, signature, bank_b.cert_pem, ca_pem)


def test_a_certificate_from_another_ca_is_refused(bank_a: Member, tmp_path: Path) -> None:
    rogue = CertificateAuthority.init(tmp_path / "rogue", name="rogue", now=NOW)
    impostor = issue(rogue, "bank-a", tmp_path / "rogue-out")
    signature = sign_bundle(impostor.bundle, impostor.key_pem)
    genuine_ca = (tmp_path / "ca" / "ca.cert.pem").read_bytes()
    with pytest.raises(KeyBundleError):
        verify(impostor.bundle, signature, impostor.cert_pem, genuine_ca)


def test_an_expired_certificate_is_refused(bank_a: Member, ca_pem: bytes) -> None:
    signature = sign_bundle(bank_a.bundle, bank_a.key_pem)
    with pytest.raises(KeyBundleError):
        verify(bank_a.bundle, signature, bank_a.cert_pem, ca_pem, now=NOW + dt.timedelta(days=400))


def test_a_revoked_certificate_is_refused(bank_a: Member, ca_pem: bytes) -> None:
    signature = sign_bundle(bank_a.bundle, bank_a.key_pem)
    with pytest.raises(KeyBundleError):
        verify(bank_a.bundle, signature, bank_a.cert_pem, ca_pem, revocation=RevokedSerial(bank_a.serial))


def test_the_signature_is_domain_separated(bank_a: Member, ca_pem: bytes) -> None:
    # A signature by the same key over the bare encoding (no label) must not verify.
    key = serialization.load_pem_private_key(bank_a.key_pem, password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    unlabelled = key.sign(bank_a.bundle.to_bytes(), ec.ECDSA(hashes.SHA256()))
    with pytest.raises(KeyBundleError):
        verify(bank_a.bundle, unlabelled, bank_a.cert_pem, ca_pem)


def test_canonical_encoding_round_trips_and_starts_with_its_version(bank_a: Member) -> None:
    encoded = bank_a.bundle.to_bytes()
    assert encoded[0] == KEY_BUNDLE_VERSION
    assert KeyBundle.from_bytes(encoded) == bank_a.bundle


@pytest.mark.parametrize(
    "mutate",
    [lambda b: b"\x02" + b[1:], lambda b: b[:-1], lambda b: b + b"\x00", lambda b: b""],
    ids=["version", "truncated", "trailing", "empty"],
)
def test_malformed_encodings_are_refused(bank_a: Member, mutate: Callable[[bytes], bytes]) -> None:
    with pytest.raises(InvalidInputError, match="key_bundle"):
        KeyBundle.from_bytes(mutate(bank_a.bundle.to_bytes()))


def test_bundle_fields_are_validated(bank_a: Member) -> None:
    with pytest.raises(InvalidInputError, match="member_id"):
        replace(bank_a.bundle, member_id="Bank A")
    with pytest.raises(InvalidInputError, match="hpke_public_key"):
        replace(bank_a.bundle, hpke_public_key=bytes(31))
    with pytest.raises(InvalidInputError, match="created_at"):
        replace(bank_a.bundle, created_at=dt.datetime(2026, 1, 1))


def test_signing_needs_an_ec_p256_key(bank_a: Member) -> None:
    other = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(InvalidInputError, match="EC P-256"):
        sign_bundle(bank_a.bundle, other)
    with pytest.raises(InvalidInputError, match="PEM"):
        sign_bundle(bank_a.bundle, b"not a key")

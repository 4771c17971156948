"""Replaying the key log: first certificate accepted, a second one only after the owner confirms it."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from gateway.clock import system_clock
from gateway.crypto.bundle import KeyBundle, sign_bundle
from gateway.crypto.ed25519 import Ed25519Key
from gateway.identity.ca import CertificateAuthority
from gateway.identity.peer import Role
from gateway.tlog.keys import LogKeyStatement
from gateway.transparency.keylog import (
    ACCEPTED,
    PENDING,
    REVOKED,
    certificate_entry,
    confirmation_entry,
    encode_entry,
    keys_entry,
    replay,
    revocation_entry,
)


class Node:
    """One issued identity: certificate, TLS key, log key."""

    def __init__(self, authority: CertificateAuthority, folder: Path, member_id: str, seed: int) -> None:
        issued = authority.issue(member_id=member_id, role=Role.BANK, out_dir=folder, now=system_clock())
        self.serial = issued.serial
        self.cert_pem = issued.cert_path.read_bytes()
        self.key_pem = issued.key_path.read_bytes()
        self.der = ssl.PEM_cert_to_DER_cert(self.cert_pem.decode("ascii"))
        self.log_key = Ed25519Key(bytes([seed]) * 32)
        self.member_id = member_id

    def certificate(self) -> bytes:
        return encode_entry(certificate_entry(self.der))

    def keys(self) -> bytes:
        statement = LogKeyStatement.create(
            self.member_id,
            self.log_key.public_key,
            certificate_pem=self.cert_pem,
            tls_private_key_pem=self.key_pem,
        )
        bundle = KeyBundle(self.member_id, bytes(32), bytes(range(32)), system_clock())
        return encode_entry(
            keys_entry(statement, bundle=bundle, bundle_signature=sign_bundle(bundle, self.key_pem))
        )


@pytest.fixture
def ca_pem(authority: CertificateAuthority) -> bytes:
    return (authority.directory / "ca.cert.pem").read_bytes()


def test_first_certificate_and_keys_are_accepted(
    authority: CertificateAuthority, tmp_path: Path, ca_pem: bytes
) -> None:
    owner = Node(authority, tmp_path / "a", "bank-2", 1)

    state = replay([owner.certificate(), owner.keys()], ca_certificate_pem=ca_pem)["bank-2"]

    assert state.certificates[owner_fp(owner)].status == ACCEPTED
    assert state.log_key == owner.log_key.public_key and state.accepted_keys


def owner_fp(node: Node) -> str:
    import hashlib

    return hashlib.sha256(node.der).hexdigest()


def test_a_second_certificate_waits_for_the_owners_confirmation(
    authority: CertificateAuthority, tmp_path: Path, ca_pem: bytes
) -> None:
    owner = Node(authority, tmp_path / "a", "bank-2", 1)
    rogue = Node(authority, tmp_path / "b", "bank-2", 2)
    log = [owner.certificate(), owner.keys(), rogue.certificate(), rogue.keys()]

    before = replay(log, ca_certificate_pem=ca_pem)["bank-2"]
    forged = confirmation_entry(
        "bank-2", owner_fp(rogue), rogue.log_key.public_key, previous_key=rogue.log_key
    )
    still = replay([*log, encode_entry(forged)], ca_certificate_pem=ca_pem)["bank-2"]
    genuine = confirmation_entry(
        "bank-2", owner_fp(rogue), rogue.log_key.public_key, previous_key=owner.log_key
    )
    after = replay([*log, encode_entry(genuine)], ca_certificate_pem=ca_pem)["bank-2"]

    assert before.certificates[owner_fp(rogue)].status == PENDING and 3 in before.pending_keys
    assert before.log_key == owner.log_key.public_key
    assert still.certificates[owner_fp(rogue)].status == PENDING and still.problems  # signed by the rogue key
    assert after.certificates[owner_fp(rogue)].status == ACCEPTED
    assert after.log_key == rogue.log_key.public_key and 3 in after.accepted_keys.values()


def test_a_revoked_certificate_is_not_accepted(
    authority: CertificateAuthority, tmp_path: Path, ca_pem: bytes
) -> None:
    owner = Node(authority, tmp_path / "a", "bank-2", 1)

    state = replay(
        [
            owner.certificate(),
            encode_entry(revocation_entry("bank-2", owner.serial, "2026-01-01T00:00:00+00:00")),
        ],
        ca_certificate_pem=ca_pem,
    )["bank-2"]

    assert state.certificates[owner_fp(owner)].status == REVOKED


def test_a_certificate_the_ca_did_not_issue_has_no_effect(
    authority: CertificateAuthority, tmp_path: Path, ca_pem: bytes
) -> None:
    other = CertificateAuthority.init(tmp_path / "other-ca", name="other", now=system_clock())
    stranger = Node(other, tmp_path / "s", "bank-2", 3)

    states = replay([stranger.certificate()], ca_certificate_pem=ca_pem)

    assert states["bank-2"].certificates == {} and states["bank-2"].problems

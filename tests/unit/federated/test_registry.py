from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from federated.errors import ModelVerificationError
from federated.models import Normaliser
from federated.registry import ModelRecord, load_verified, next_version, publish
from gateway.identity.ca import CertificateAuthority
from gateway.identity.peer import Role

NOW = dt.datetime.now(dt.UTC)


@pytest.fixture
def ca(tmp_path: Path) -> CertificateAuthority:
    return CertificateAuthority.init(tmp_path / "ca", name="Test", now=NOW)


def issue(ca: CertificateAuthority, tmp_path: Path, member: str, role: Role) -> tuple[bytes, bytes]:
    ca.issue(member_id=member, role=role, out_dir=tmp_path / member, now=NOW)
    return (tmp_path / member / f"{member}.key.pem").read_bytes(), (
        tmp_path / member / f"{member}.cert.pem"
    ).read_bytes()


def record(version: int = 1) -> ModelRecord:
    return ModelRecord(
        name="delinquency",
        version=version,
        created_at="2025-01-01T00:00:00+00:00",
        kind="lr",
        hidden=4,
        weights=np.array([0.5, -1.25, 3.0]),
        normaliser=Normaliser(np.array([1.0, 2.0]), np.array([1.0, 0.5])),
        spec_name="t",
        spec_sha256="ab" * 32,
        input_names=["a", "b"],
        metrics={"auc": 0.78},
    )


def ca_pem(ca: CertificateAuthority) -> bytes:
    return (ca.directory / "ca.cert.pem").read_bytes()


def test_signed_model_verifies_and_round_trips(ca: CertificateAuthority, tmp_path: Path) -> None:
    key, cert = issue(ca, tmp_path, "bureau", Role.BUREAU)
    path = publish(tmp_path / "registry", record(), key_pem=key, certificate_pem=cert)
    loaded = load_verified(path, ca_certificate_pem=ca_pem(ca), now=NOW)
    assert loaded.signer.member_id == "bureau"
    assert loaded.record.weights.tolist() == [0.5, -1.25, 3.0]
    assert next_version(tmp_path / "registry", "delinquency") == 2


def test_tampered_weights_are_refused(ca: CertificateAuthority, tmp_path: Path) -> None:
    key, cert = issue(ca, tmp_path, "bureau", Role.BUREAU)
    path = publish(tmp_path / "registry", record(), key_pem=key, certificate_pem=cert)
    path.write_bytes(path.read_bytes().replace(b"-1.25", b"-1.26"))
    with pytest.raises(ModelVerificationError, match="failed verification"):
        load_verified(path, ca_certificate_pem=ca_pem(ca), now=NOW)


def test_signature_by_a_non_bureau_member_is_refused(ca: CertificateAuthority, tmp_path: Path) -> None:
    key, cert = issue(ca, tmp_path, "bank-a", Role.BANK)
    path = publish(tmp_path / "registry", record(), key_pem=key, certificate_pem=cert)
    with pytest.raises(ModelVerificationError):
        load_verified(path, ca_certificate_pem=ca_pem(ca), now=NOW)


def test_bureau_certificate_of_another_ca_is_refused(ca: CertificateAuthority, tmp_path: Path) -> None:
    other = CertificateAuthority.init(tmp_path / "other-ca", name="Other", now=NOW)
    key, cert = issue(other, tmp_path / "o", "bureau", Role.BUREAU)
    path = publish(tmp_path / "registry", record(), key_pem=key, certificate_pem=cert)
    with pytest.raises(ModelVerificationError):
        load_verified(path, ca_certificate_pem=ca_pem(ca), now=NOW)


def test_unsigned_model_is_refused(ca: CertificateAuthority, tmp_path: Path) -> None:
    path = publish(tmp_path / "registry", record(), key_pem=None, certificate_pem=None)
    with pytest.raises(ModelVerificationError):
        load_verified(path, ca_certificate_pem=ca_pem(ca), now=NOW)


def test_signature_of_another_file_is_refused(ca: CertificateAuthority, tmp_path: Path) -> None:
    key, cert = issue(ca, tmp_path, "bureau", Role.BUREAU)
    first = publish(tmp_path / "registry", record(1), key_pem=key, certificate_pem=cert)
    second = publish(tmp_path / "registry", record(2), key_pem=key, certificate_pem=cert)
    (second.parent / "model.sig").write_bytes((first.parent / "model.sig").read_bytes())
    with pytest.raises(ModelVerificationError):
        load_verified(second, ca_certificate_pem=ca_pem(ca), now=NOW)

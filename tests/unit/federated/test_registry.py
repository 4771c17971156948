from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from federated.errors import ModelVerificationError
from federated.models import Normaliser
from federated.registry import ModelRecord, load_verified, next_version, publish
from gateway.clock import system_clock
from gateway.errors import NotFoundError
from gateway.federation.models import install_model, newest_model
from gateway.identity.ca import CertificateAuthority
from gateway.identity.peer import Role

NOW = system_clock()


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


# Publishing: the bureau serves its newest signed model; a member installs only what verifies.


def _publish_runs(ca: CertificateAuthority, tmp_path: Path) -> Path:
    key, cert = issue(ca, tmp_path, "bureau", Role.BUREAU)
    runs = tmp_path / "runs"
    older = dataclasses.replace(record(), created_at="2026-11-01T00:00:00+00:00")
    newer = dataclasses.replace(record(), created_at="2026-11-20T00:00:00+00:00", metrics={"auc": 0.8})
    publish(runs / "run-a" / "registry", newer, key_pem=key, certificate_pem=cert)
    publish(runs / "run-b" / "registry", older, key_pem=key, certificate_pem=cert)
    unsigned = dataclasses.replace(record(), created_at="2026-12-01T00:00:00+00:00")
    publish(runs / "run-c" / "registry", unsigned, key_pem=None, certificate_pem=None)  # never served
    return runs


def test_the_newest_signed_model_is_served_and_installs_verified(
    ca: CertificateAuthority, tmp_path: Path
) -> None:
    served = newest_model(_publish_runs(ca, tmp_path), "delinquency")

    path = install_model(served, tmp_path / "member" / "models", ca_certificate_pem=ca_pem(ca), now=NOW)

    assert json.loads(served.model_file)["created_at"] == "2026-11-20T00:00:00+00:00"
    assert path == tmp_path / "member" / "models" / "delinquency" / "v1" / "model.json"
    assert path.read_bytes() == served.model_file


def test_a_tampered_model_is_not_installed(ca: CertificateAuthority, tmp_path: Path) -> None:
    served = newest_model(_publish_runs(ca, tmp_path), "delinquency")
    tampered = dataclasses.replace(served, model_file=served.model_file.replace(b"0.8", b"0.9"))
    models = tmp_path / "member" / "models"

    with pytest.raises(ModelVerificationError):
        install_model(tampered, models, ca_certificate_pem=ca_pem(ca), now=NOW)

    assert not (models / "delinquency").exists() and not list(models.glob(".incoming-*"))


def test_no_model_yet_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="credgate train"):
        newest_model(tmp_path / "runs", "delinquency")


def test_a_missing_model_file_is_reported_as_missing_not_as_failed_verification(
    ca: CertificateAuthority, tmp_path: Path
) -> None:
    with pytest.raises(NotFoundError, match="no model file at") as missing:
        load_verified(tmp_path / "nowhere" / "model.json", ca_certificate_pem=ca_pem(ca), now=NOW)

    assert "verification" not in missing.value.message

"""`credgate init ROLE` writes a node folder the CA can certify, and the shipped examples are its output."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from typer.testing import CliRunner

from gateway.cli.app import app
from gateway.clock import system_clock
from gateway.config import Settings, default_policies_dir
from gateway.errors import InvalidInputError
from gateway.identity.ca import CertificateAuthority
from gateway.identity.peer import Role
from gateway.identity.tls import TLSIdentity
from gateway.node.folder import render_config

EXAMPLES = default_policies_dir().parent / "examples"
EXAMPLE_NODES = {
    Role.BUREAU: "bureau",
    Role.BANK: "bank-1",
    Role.AGENCY: "agency-1",
    Role.REGULATOR: "regulator",
}


@pytest.mark.parametrize("role", list(EXAMPLE_NODES))
def test_every_role_has_an_example_config_that_loads_strictly(role: Role) -> None:
    path = EXAMPLES / f"{role.value}.toml"
    member_id = EXAMPLE_NODES[role]

    settings = Settings.from_file(path, environ={})

    assert path.read_text() == render_config(role, member_id, bureau_address="bureau.example:7443")
    assert settings.member_id == member_id
    assert settings.store_url == f"sqlite:///{EXAMPLES / 'data' / 'store.db'}"


def test_init_writes_a_folder_the_ca_certifies_and_the_node_loads(tmp_path: Path) -> None:
    ca_dir = tmp_path / "ca"
    CertificateAuthority.init(ca_dir, name="test", now=system_clock())
    node = tmp_path / "bank-1"
    runner = CliRunner()

    made = runner.invoke(app, ["init", "bank", "--member-id", "bank-1", "--dir", str(node)])
    signed = runner.invoke(
        app,
        ["ca", "sign", "--ca-dir", str(ca_dir), "--csr", str(node / "tls" / "bank-1.csr.pem"),
         "--member-id", "bank-1", "--role", "bank", "--out", str(node / "tls")],
    )  # fmt: skip
    (node / "tls" / "crl.pem").write_bytes((ca_dir / "crl.pem").read_bytes())

    assert made.exit_code == 0, made.output
    assert signed.exit_code == 0, signed.output
    settings = Settings.from_file(node / "node.toml", environ={})
    identity = TLSIdentity.from_settings(settings.tls)
    assert (identity.own.member_id, identity.own.role) == ("bank-1", Role.BANK)
    key = serialization.load_pem_private_key((node / "tls" / "bank-1.key.pem").read_bytes(), None)
    certificate = x509.load_pem_x509_certificate((node / "tls" / "bank-1.cert.pem").read_bytes())
    assert certificate.public_key() == key.public_key()
    assert (node / "tls" / "bank-1.key.pem").stat().st_mode & 0o077 == 0


def test_the_ca_refuses_a_request_for_another_member(tmp_path: Path) -> None:
    ca = CertificateAuthority.init(tmp_path / "ca", name="test", now=system_clock())
    runner = CliRunner()
    runner.invoke(app, ["init", "bank", "--member-id", "bank-2", "--dir", str(tmp_path / "n")])

    with pytest.raises(InvalidInputError, match="the request is for 'bank-2', expected 'bank-1'"):
        ca.sign_request(
            (tmp_path / "n" / "tls" / "bank-2.csr.pem").read_bytes(),
            member_id="bank-1",
            role=Role.BANK,
            out_dir=tmp_path / "out",
            now=system_clock(),
        )

"""The CRL a node enforces: re-published atomically, nextUpdate enforced, re-signed by `credgate ca crl`."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from pathlib import Path

import pytest
from cryptography import x509
from typer.testing import CliRunner

from gateway.cli.app import app
from gateway.clock import system_clock
from gateway.errors import IdentityError
from gateway.identity.ca import CertificateAuthority
from gateway.identity.peer import Role
from gateway.identity.revocation import EXPIRY_WARNING, RevocationList


@pytest.fixture
def ca(tmp_path: Path) -> CertificateAuthority:
    return CertificateAuthority.init(tmp_path / "ca", name="test", now=system_clock())


def test_no_valid_call_is_refused_while_the_crl_is_re_published(
    ca: CertificateAuthority, tmp_path: Path
) -> None:
    """Rewriting crl.pem in place let a node read a truncated file (15 of 1,134 calls refused)."""
    serial = ca.issue(member_id="bank-1", role=Role.BANK, out_dir=tmp_path / "a", now=system_clock()).serial
    revocations = RevocationList(ca.directory / "crl.pem", ca.certificate)
    done = threading.Event()
    refused: list[IdentityError] = []
    checks = 0

    def check_until_done() -> None:
        nonlocal checks
        while not done.is_set():
            try:
                revocations.check(serial)
            except IdentityError as exc:
                refused.append(exc)
            checks += 1

    checker = threading.Thread(target=check_until_done)
    checker.start()
    try:
        for _ in range(300):
            ca.publish_crl(now=system_clock())
    finally:
        done.set()
        checker.join(60)

    assert checks > 0
    assert refused == []


def test_an_expired_crl_refuses_every_call(ca: CertificateAuthority, tmp_path: Path) -> None:
    serial = ca.issue(member_id="bank-1", role=Role.BANK, out_dir=tmp_path / "a", now=system_clock()).serial
    now = system_clock()
    ca.publish_crl(now=now, validity=dt.timedelta(days=1))
    later = now + dt.timedelta(days=1, seconds=1)
    revocations = RevocationList(ca.directory / "crl.pem", ca.certificate, clock=lambda: later)

    with pytest.raises(IdentityError, match="expired") as refused:
        revocations.check(serial)

    assert refused.value.reason == "crl_expired"


def test_a_crl_close_to_expiry_is_warned_about_once(
    ca: CertificateAuthority, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    serial = ca.issue(member_id="bank-1", role=Role.BANK, out_dir=tmp_path / "a", now=system_clock()).serial
    now = system_clock()
    ca.publish_crl(now=now, validity=EXPIRY_WARNING)
    revocations = RevocationList(ca.directory / "crl.pem", ca.certificate, clock=lambda: now)

    with caplog.at_level(logging.WARNING, logger="gateway.identity.revocation"):
        for _ in range(3):
            revocations.check(serial)

    assert [r.message for r in caplog.records] == ["crl_expiring"]


def test_ca_crl_re_signs_with_a_fresh_next_update(ca: CertificateAuthority) -> None:
    old = system_clock() - dt.timedelta(days=6)
    ca.publish_crl(now=old)
    before = x509.load_pem_x509_crl((ca.directory / "crl.pem").read_bytes()).next_update_utc

    result = CliRunner().invoke(app, ["ca", "crl", "--ca-dir", str(ca.directory)])

    after = x509.load_pem_x509_crl((ca.directory / "crl.pem").read_bytes()).next_update_utc
    assert result.exit_code == 0, result.output
    assert before is not None and after is not None and after > before + dt.timedelta(days=5)
    assert "valid for 7 days" in result.output

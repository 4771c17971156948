"""A second certificate for bank-2 from the real CA, in real processes: bank-2 alerts, the others refuse.

A deviating bureau runs the CA: it issues another bank-2 certificate and starts a node with it
(bureau-held keys), which registers and replaces bank-2 in the directory. The key log records
the certificate (the bureau copies the CA register into it) and the new keys. bank-2's witness
sees a certificate for its own id it does not hold and raises an alert; bank-1 and bank-3 refuse
the new certificate and keys, because no confirmation signed with bank-2's logged key exists.
When bank-2's operator confirms the rotation with `credgate keys confirm`, they accept them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from gateway.bureau import MemberView
from gateway.clock import system_clock
from gateway.config import Settings
from gateway.demo.consortium import RunningConsortium, node_process
from gateway.demo.provision import BUREAU_ID
from gateway.identity.peer import Role
from gateway.identity.tls import TLSIdentity
from gateway.node.bureau_client import BureauClient
from gateway.store.database import open_store
from gateway.store.models import AuditRecord
from gateway.transparency.gate import KeyLogGate, PeerKeyRefused
from gateway.transparency.settings import TransparencySettings

ProvisionNode = Callable[..., Settings]
pytestmark = [pytest.mark.processes, pytest.mark.slow]
DEADLINE_SECONDS = 120.0


def credgate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )


def gate_verdict(settings: Settings, view: MemberView) -> PeerKeyRefused | None:
    """What ``settings``' node decides about ``view`` from its own store (the running node keeps it)."""
    store = open_store(settings.store_url)
    try:
        gate = KeyLogGate(
            store,
            ca_certificate_pem=settings.tls.ca_cert.read_bytes(),
            bureau_member_id=BUREAU_ID,
            settings=TransparencySettings.from_directory(settings.policies_dir),
            clock=system_clock,
        )
        try:
            gate.check(view)
        except PeerKeyRefused as exc:
            return exc
        return None
    finally:
        store.close()


def directory_view(settings: Settings, bureau_address: str, member_id: str) -> MemberView | None:
    client = BureauClient(
        TLSIdentity.from_settings(settings.tls), bureau_address, bureau_member_id=BUREAU_ID, egress=None
    )
    try:
        return next((v for v in client.directory()[0] if v.member_id == member_id), None)
    finally:
        client.close()


def eventually(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.5)


def alerts(settings: Settings) -> int:
    store = open_store(settings.store_url)
    try:
        with store.transaction() as session:
            return int(
                session.scalar(
                    sa.select(sa.func.count())
                    .select_from(AuditRecord)
                    .where(AuditRecord.action == "transparency.key_alert")
                )
                or 0
            )
    finally:
        store.close()


def test_a_second_certificate_for_bank_2_is_alerted_and_refused_until_bank_2_confirms(
    provision: ProvisionNode, tmp_path: Path
) -> None:
    bureau_settings = provision(BUREAU_ID, Role.BUREAU, heartbeat_seconds=0.5)
    logs = tmp_path / "logs"
    consortium = RunningConsortium(
        bureau_settings,
        node_process(bureau_settings, bureau_settings.data_dir.parent / "node.toml", logs, bureau=True),
    )
    settings: dict[str, Settings] = {}
    try:
        consortium.bureau.start()
        consortium.bureau_address = address = consortium.bureau.wait_ready()
        for member_id in ("bank-1", "bank-2", "bank-3"):
            settings[member_id] = provision(
                member_id, Role.BANK, bureau_address=address, heartbeat_seconds=0.5
            )
            process = node_process(
                settings[member_id], settings[member_id].data_dir.parent / "node.toml", logs, bureau=False
            )
            consortium.members.append(process)
            process.start()
        consortium.wait_registered()
        original = directory_view(settings["bank-1"], address, "bank-2")
        assert original is not None
        eventually(
            lambda: gate_verdict(settings["bank-1"], original) is None, "bank-1 to trust bank-2's first keys"
        )

        # The bureau issues a second bank-2 certificate and runs a node with it.
        rogue_dir = tmp_path / "rogue-bank-2"
        issued = credgate(
            "ca",
            "issue",
            "--ca-dir",
            str(bureau_settings.ca_dir),
            "--member-id",
            "bank-2",
            "--role",
            "bank",
            "--out",
            str(rogue_dir / "tls"),
        )
        assert issued.returncode == 0, issued.stderr
        real_config = settings["bank-2"].data_dir.parent / "node.toml"
        shutil.copy(settings["bank-2"].tls.ca_cert, rogue_dir / "tls" / "ca.cert.pem")
        text = real_config.read_text().replace(str(settings["bank-2"].data_dir.parent), str(rogue_dir))
        (rogue_dir / "node.toml").write_text(text)
        rogue_settings = Settings.from_file(rogue_dir / "node.toml", environ={})
        rogue = node_process(rogue_settings, rogue_dir / "node.toml", tmp_path / "rogue-logs", bureau=False)
        consortium.members.append(rogue)
        rogue.start()
        rogue.wait_ready()

        def rogue_listed() -> bool:
            view = directory_view(settings["bank-1"], address, "bank-2")
            return (
                view is not None
                and view.keys is not None
                and view.keys.certificate_der != original.keys.certificate_der
            )  # type: ignore[union-attr]

        eventually(rogue_listed, "the bureau to list the second bank-2 certificate")
        replaced = directory_view(settings["bank-1"], address, "bank-2")
        assert replaced is not None
        eventually(lambda: alerts(settings["bank-2"]) > 0, "bank-2 to raise an alert")
        for member_id in ("bank-1", "bank-3"):  # refused while the key log says "awaiting confirmation"
            eventually(
                lambda m=member_id: (
                    (v := gate_verdict(settings[m], replaced)) is not None and not v.transient
                ),
                f"{member_id} to refuse the second certificate for good",
            )
        key_log = credgate("keys", "log", "--config", str(real_config))
        refused_until_confirmed = [gate_verdict(settings[m], replaced) for m in ("bank-1", "bank-3")]

        # bank-2's operator confirms the rotation as its own.
        fingerprint = TLSIdentity.from_settings(rogue_settings.tls).own.fingerprint
        confirmed = credgate("keys", "confirm", "--config", str(real_config), "--fingerprint", fingerprint)
        for member_id in ("bank-1", "bank-3"):
            eventually(
                lambda m=member_id: gate_verdict(settings[m], replaced) is None,
                f"{member_id} to accept after confirmation",
            )
    finally:
        codes = consortium.stop()

    assert key_log.returncode == 82, key_log.stdout + key_log.stderr
    assert "ALERT" in key_log.stdout and "awaits confirmation" in key_log.stdout
    assert all(v is not None and "pending confirmation" in v.message for v in refused_until_confirmed)
    assert confirmed.returncode == 0, confirmed.stdout + confirmed.stderr
    assert set(codes.values()) == {0}

"""Real bureau and member processes: start, register, status, doctor, SIGTERM."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from gateway.config import Settings
from gateway.demo.consortium import RunningConsortium, node_process
from gateway.demo.provision import BUREAU_ID
from gateway.identity.peer import Role

ProvisionNode = Callable[..., Settings]
pytestmark = [pytest.mark.processes, pytest.mark.slow]


def credgate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )


def test_processes_register_show_status_and_stop_cleanly(provision: ProvisionNode, tmp_path: Path) -> None:
    bureau_settings = provision(BUREAU_ID, Role.BUREAU, heartbeat_seconds=0.5)
    bureau_config = bureau_settings.data_dir.parent / "node.toml"
    consortium = RunningConsortium(
        bureau_settings, node_process(bureau_settings, bureau_config, tmp_path / "logs", bureau=True)
    )
    try:
        consortium.bureau.start()
        consortium.bureau_address = consortium.bureau.wait_ready()
        for member_id, role in (("bank-1", Role.BANK), ("agency-1", Role.AGENCY)):
            settings = provision(
                member_id, role, bureau_address=consortium.bureau_address, heartbeat_seconds=0.5
            )
            process = node_process(
                settings, settings.data_dir.parent / "node.toml", tmp_path / "logs", bureau=False
            )
            consortium.members.append(process)
            process.start()
        views = consortium.wait_registered()

        member_status = credgate("status", "--config", str(tmp_path / "nodes" / "bank-1" / "node.toml"))
        bureau_status = credgate("status", "--config", str(bureau_config))
        doctor = credgate("doctor", "--config", str(tmp_path / "nodes" / "agency-1" / "node.toml"))
    finally:
        codes = consortium.stop()

    assert {v.member_id: v.role for v in views} == {"bank-1": Role.BANK, "agency-1": Role.AGENCY}
    assert member_status.returncode == 0, member_status.stderr
    assert "agency-1" in member_status.stdout and "(bureau only)" in member_status.stdout
    assert bureau_status.returncode == 0 and "s ago" in bureau_status.stdout
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert "fail" not in doctor.stdout
    assert codes == {"bank-1": 0, "agency-1": 0, BUREAU_ID: 0}


def test_a_node_with_another_members_certificate_refuses_to_start(
    provision: ProvisionNode, tmp_path: Path
) -> None:
    settings = provision("bank-1", Role.BANK, bureau_address="127.0.0.1:1")
    config = settings.data_dir.parent / "node.toml"
    config.write_text(config.read_text().replace('member_id = "bank-1"', 'member_id = "bank-9"'))

    result = credgate("node", "start", "--config", str(config))

    assert result.returncode == 10
    assert "is for 'bank-1', but node.member_id is 'bank-9'" in result.stderr


def test_doctor_explains_an_unreachable_bureau(provision: ProvisionNode) -> None:
    settings = provision("bank-1", Role.BANK, bureau_address="127.0.0.1:1")

    result = credgate("doctor", "--config", str(settings.data_dir.parent / "node.toml"))

    assert result.returncode == 50
    assert "cannot reach the bureau over mTLS" in result.stdout

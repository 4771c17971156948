"""``credgate train`` against real bureau and member processes started with ``--federated``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from gateway.config import Settings
from gateway.demo.consortium import RunningConsortium, node_process
from gateway.demo.provision import BUREAU_ID
from gateway.federation.bundles import build_bundle, fab_sha256
from gateway.federation.environment import free_loopback_port
from gateway.federation.parts import FEDERATION_FILE
from gateway.identity.peer import Role

ProvisionNode = Callable[..., Settings]
APP_DIR = Path(__file__).parents[1] / "integration" / "federation" / "fedtest_app"
MEMBERS = (("bank-1", Role.BANK), ("bank-2", Role.BANK), ("cfc-1", Role.CONSUMER_FINANCE))
pytestmark = [pytest.mark.processes, pytest.mark.slow]


@pytest.fixture
def policies_dir(policies_copy: Callable[..., Path]) -> Path:
    """The shipped policies plus an allow-list naming the test app's bundle."""
    folder = policies_copy({})
    digest = fab_sha256(build_bundle(APP_DIR))
    (folder / "federated_bundles.toml").write_text(
        f'[[bundle]]\nname = "fedtest"\nsource = "tests"\nsha256 = "{digest}"\n', encoding="utf-8"
    )
    return folder


def train(config: Path, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", "train", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )


def credgate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        capture_output=True, text=True, timeout=120, check=False, env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip


def wait_for(path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} did not appear"
        time.sleep(0.2)


def processes_under(folder: Path) -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(folder) in cmdline and proc.name.isdigit() and int(proc.name) != os.getpid():
            found.append(cmdline)
    return found


def test_train_runs_over_federated_node_processes_and_fails_loudly(
    provision: ProvisionNode, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CREDGATE_FEDERATION_RELAY", f"127.0.0.1:{free_loopback_port()}")
    monkeypatch.setenv("CREDGATE_FEDERATED", "1")
    logs = tmp_path / "logs"
    bureau_settings = provision(BUREAU_ID, Role.BUREAU, heartbeat_seconds=0.5)
    bureau_config = bureau_settings.data_dir.parent / "node.toml"
    consortium = RunningConsortium(
        bureau_settings, node_process(bureau_settings, bureau_config, logs, bureau=True)
    )
    unlisted = tmp_path / "unlisted"
    shutil.copytree(APP_DIR, unlisted, ignore=shutil.ignore_patterns("__pycache__"))
    (unlisted / "credgate_fedtest" / "extra.py").write_text("UNREVIEWED = True\n", encoding="utf-8")
    try:
        consortium.bureau.start()
        consortium.bureau_address = consortium.bureau.wait_ready()
        wait_for(bureau_settings.data_dir / FEDERATION_FILE)
        for member_id, role in MEMBERS:
            settings = provision(
                member_id, role, bureau_address=consortium.bureau_address, heartbeat_seconds=0.5
            )
            process = node_process(settings, settings.data_dir.parent / "node.toml", logs, bureau=False)
            consortium.members.append(process)
            process.start()
        for process in consortium.members:
            process.wait_ready()
            wait_for(process.data_dir / FEDERATION_FILE)

        status = credgate("status", "--config", str(bureau_config))
        doctor = credgate("doctor", "--config", str(tmp_path / "nodes" / "bank-1" / "node.toml"))
        completed = train(bureau_config, "--app", str(APP_DIR), "--rounds", "2", "--set", "min-members=3")
        refused = train(bureau_config, "--app", str(unlisted), "--rounds", "1")
        failed = train(
            bureau_config, "--app", str(APP_DIR), "--rounds", "1", "--set", "min-members=4",
            "--set", "node-wait-seconds=2",
        )  # fmt: skip
        relay = json.loads((bureau_settings.data_dir / FEDERATION_FILE).read_text(encoding="utf-8"))
    finally:
        codes = consortium.stop()

    assert status.returncode == 0, status.stdout + status.stderr
    assert "Flower SuperLink: up" in status.stdout and "Flower fleet relay: up" in status.stdout
    assert doctor.returncode == 0, doctor.stdout
    assert "federation: SuperNode fleet gateway" in doctor.stdout and " fail " not in doctor.stdout
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "finished:completed" in completed.stdout and "auc" in completed.stdout
    assert refused.returncode == 40, refused.stdout + refused.stderr
    assert "not allow-listed" in refused.stderr
    assert failed.returncode == 71, failed.stdout  # TRAINING_FAILED, where `flwr run` exits 0
    assert "finished:failed" in failed.stderr
    assert relay["relay_address"] == os.environ["CREDGATE_FEDERATION_RELAY"]
    assert codes == {"bank-1": 0, "bank-2": 0, "cfc-1": 0, BUREAU_ID: 0}
    assert processes_under(tmp_path) == []
    assert not (bureau_settings.data_dir / FEDERATION_FILE).exists()

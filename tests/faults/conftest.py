"""Process-level fault tests: real bureau and member processes, real sockets, real signals.

Each test starts what it needs from ``credgate`` itself (``bureau start`` / ``node start``) and
breaks it the way an operations team would: SIGTERM after garbage, idle streams, restarts,
a read-only store. Every wait is bounded and generous (a loaded 2-core machine), and a test that
needs a capability the machine lacks (root for a mount) skips saying so.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gateway.config import Settings
from gateway.demo.consortium import RunningConsortium, node_process
from gateway.demo.processes import NodeProcess
from gateway.demo.provision import BUREAU_ID
from gateway.identity.peer import Role

ProvisionNode = Callable[..., Settings]
__all__ = ["Processes", "ProvisionNode", "append_config", "config_of", "credgate"]


def credgate(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run the ``credgate`` command as an operator would; never raises on a non-zero exit."""
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
    )


def config_of(settings: Settings) -> Path:
    return settings.data_dir.parent / "node.toml"


def append_config(settings: Settings, text: str) -> Settings:
    """Add TOML tables to a provisioned node's file and read it again."""
    path = config_of(settings)
    path.write_text(path.read_text(encoding="utf-8") + "\n" + text.strip() + "\n", encoding="utf-8")
    return Settings.from_file(path, environ={})


class Processes:
    """Starts node processes and stops every one of them at the end of the test."""

    def __init__(self, provision: ProvisionNode, logs: Path) -> None:
        self._provision = provision
        self._logs = logs
        self.started: list[NodeProcess] = []

    def bureau(self, *, heartbeat_seconds: float = 0.5, extra: str = "") -> tuple[Settings, NodeProcess, str]:
        settings = self._provision(BUREAU_ID, Role.BUREAU, heartbeat_seconds=heartbeat_seconds)
        if extra:
            settings = append_config(settings, extra)
        process = node_process(settings, config_of(settings), self._logs, bureau=True)
        self.started.append(process)
        process.start()
        return settings, process, process.wait_ready()

    def member(
        self, member_id: str, role: Role, bureau_address: str, *, heartbeat_seconds: float = 0.5
    ) -> tuple[Settings, NodeProcess]:
        settings = self._provision(
            member_id, role, bureau_address=bureau_address, heartbeat_seconds=heartbeat_seconds
        )
        process = node_process(settings, config_of(settings), self._logs, bureau=False)
        self.started.append(process)
        process.start()
        process.wait_ready()
        return settings, process

    def consortium(self, bureau_settings: Settings, bureau: NodeProcess, address: str) -> RunningConsortium:
        members = [p for p in self.started if p is not bureau]
        return RunningConsortium(bureau_settings, bureau, members, address)


@pytest.fixture
def processes(provision: ProvisionNode, tmp_path: Path) -> Iterator[Processes]:
    started = Processes(provision, tmp_path / "logs")
    yield started
    for process in reversed(started.started):
        process.stop()

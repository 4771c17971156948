"""The demo consortium: the bureau and its members as real processes on loopback."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from gateway.bureau import MemberView
from gateway.config import Settings
from gateway.demo.processes import NodeProcess
from gateway.errors import UnavailableError
from gateway.identity.tls import TLSIdentity
from gateway.node.bureau_client import BureauClient

REGISTRATION_TIMEOUT_SECONDS = 60.0


@dataclass
class RunningConsortium:
    """The bureau and member processes of one demo run, stopped members first."""

    bureau_settings: Settings
    bureau: NodeProcess
    members: list[NodeProcess] = field(default_factory=list)
    bureau_address: str = ""

    def directory(self) -> list[MemberView]:
        """The directory as the bureau's operators see it (with liveness)."""
        identity = TLSIdentity.from_settings(self.bureau_settings.tls)
        client = BureauClient(
            identity, self.bureau_address, bureau_member_id=self.bureau_settings.member_id, egress=None
        )
        try:
            return client.directory()[0]
        finally:
            client.close()

    def wait_registered(self, timeout: float = REGISTRATION_TIMEOUT_SECONDS) -> list[MemberView]:
        """Wait until every member process is registered and has sent a heartbeat.

        Raises
        ------
        UnavailableError
            When some member does not register in time.

        """
        expected = {process.member_id for process in self.members}
        deadline = time.monotonic() + timeout
        while True:
            views = self.directory()
            alive = {view.member_id for view in views if view.last_seen_at is not None}
            if expected <= alive:
                return views
            if time.monotonic() > deadline:
                raise UnavailableError(
                    f"members not registered after {timeout:.0f} s: {', '.join(sorted(expected - alive))}"
                )
            time.sleep(0.2)

    def stop(self) -> dict[str, int]:
        """SIGTERM every process (members, then the bureau); return exit codes by member id."""
        codes = {process.member_id: process.stop() for process in self.members}
        codes[self.bureau.member_id] = self.bureau.stop()
        return codes


def node_process(
    settings: Settings, config: Path, logs: Path, *, bureau: bool, environment: dict[str, str] | None = None
) -> NodeProcess:
    """The process for one provisioned node, logging to ``logs/<member>.log``."""
    process = NodeProcess.for_config(
        settings.member_id, config, settings.data_dir, logs / f"{settings.member_id}.log", bureau=bureau
    )
    process.environment.update(environment or {})
    return process

"""The bureau's Flower SuperLink, run as a supervised child on loopback only.

``flower-superlink`` 1.41 serves its fleet, control and runtime APIs on one
HTTPS port; the control and runtime APIs have no authentication, so it binds
127.0.0.1 and is reached from outside only through the fleet relay. It serves
TLS with the bureau's own consortium certificate (whose names include
127.0.0.1), demands SuperNode authentication (a node's key must be registered
through the control API before it can activate) and never installs app
dependencies.

Its state (runs, messages, registered SuperNode keys) is kept in memory
(``--database :flwr-in-memory:``). With its SQLite file instead, every fleet call went
through SQLAlchemy and SQLite and the SuperLink spent twice the CPU per SecAgg+ stage
(``docs/federation.md``, "Round time"). What a restart loses: the run in progress
(which fails, as it would anyway without its ServerApp) and the key registrations,
which the relay makes again from its pins when each member's SuperNode next activates
(:class:`gateway.federation.node_keys.SuperNodeKeyPins`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from gateway.config import TLSSettings
from gateway.federation.children import ChildProcess, wait_until
from gateway.federation.control import ControlClient
from gateway.federation.environment import flower_environment, flower_executable, free_loopback_port

READY_TIMEOUT_SECONDS = 60.0
IN_MEMORY_STATE = ":flwr-in-memory:"


@dataclass
class SuperLink:
    """A running SuperLink: its loopback port, a control client, and the child to stop."""

    port: int
    child: ChildProcess
    control: ControlClient
    ca_cert: Path

    @classmethod
    def start(
        cls, tls: TLSSettings, state_dir: Path, *, environ: Mapping[str, str] | None = None
    ) -> SuperLink:
        """Start ``flower-superlink`` and wait until its health route answers.

        Raises
        ------
        FederationError
            When it exits or does not answer within a minute.

        """
        state_dir.mkdir(parents=True, exist_ok=True)
        port = free_loopback_port()
        argv = [
            flower_executable("flower-superlink"),
            "--ssl-certfile", str(tls.cert),
            "--ssl-keyfile", str(tls.key),
            "--ssl-ca-certfile", str(tls.ca_cert),
            "--enable-supernode-auth",
            "--disable-runtime-dependency-installation",
            "--isolation", "subprocess",
            "--host", "127.0.0.1",
            "--port", str(port),
            "--database", IN_MEMORY_STATE,
        ]  # fmt: skip
        env = flower_environment(
            os.environ if environ is None else environ, flwr_home=state_dir / "flwr-home"
        )
        child = ChildProcess("flower-superlink", argv, env=env, log_path=state_dir / "logs" / "superlink.log")
        child.start()
        control = ControlClient(port, ca_cert=tls.ca_cert)
        try:
            wait_until(control.healthy, timeout=READY_TIMEOUT_SECONDS, what="the SuperLink", child=child)
        except BaseException:
            control.close()
            child.stop()
            raise
        return cls(port, child, control, tls.ca_cert)

    @property
    def address(self) -> str:
        """``127.0.0.1:<port>``."""
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        """Close the control client and stop the SuperLink (and the ServerApps it spawned)."""
        self.control.close()
        self.child.stop()

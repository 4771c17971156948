"""A member's Flower SuperNode, run as a supervised child.

It connects to the member's loopback fleet gateway (TLS, consortium CA), signs
its calls with the member's SuperNode key, and hands each ClientApp the node
config ``store-url`` (the member's SQLAlchemy store) and ``member-id``.

It runs through :mod:`gateway._internal.fast_supernode` with ``--isolation process``:
the SuperNode queues one task per message and credgate's ClientApp executor
(:mod:`gateway.federation.clientapp_executor`, a thread of that process) runs every task
of a run in one long-lived worker process, instead of Flower's default of one fresh
``flwr-clientapp`` process per message.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from gateway.federation.children import ChildProcess
from gateway.federation.environment import flower_environment, flower_executable, free_loopback_port
from gateway.federation.node_keys import supernode_key


def node_config(values: Mapping[str, str]) -> str:
    """Flower's ``--node-config`` text: ``key="value"`` pairs separated by spaces."""
    for key, value in values.items():
        if '"' in value or "\\" in value or " " in key:
            raise ValueError(f"node config {key!r} cannot carry quotes or backslashes")
    return " ".join(f'{key}="{value}"' for key, value in values.items())


@dataclass
class SuperNode:
    """A running SuperNode child (its ClientApp workers are its own children)."""

    child: ChildProcess

    @classmethod
    def start(
        cls,
        *,
        gateway_port: int,
        ca_cert: Path,
        state_dir: Path,
        config: Mapping[str, str],
        environ: Mapping[str, str] | None = None,
        key_path: Path | None = None,
    ) -> SuperNode:
        """Start ``flower-supernode`` against ``127.0.0.1:<gateway_port>``.

        ``key_path`` defaults to the member's own key (created on first use).

        Raises
        ------
        FederationError
            When the executable cannot be started or the key cannot be made.

        """
        key = key_path if key_path is not None else supernode_key(state_dir)
        # Flower's own flower-supernode, through a shim that paces its hard-coded waits and runs
        # the ClientApp executor (gateway/_internal/fast_supernode.py); flower_executable checks
        # flwr is installed.
        flower_executable("flower-supernode")
        runtime_port = free_loopback_port()
        argv = [
            sys.executable, "-m", "gateway._internal.fast_supernode",
            "--superlink", f"127.0.0.1:{gateway_port}",
            "--root-certificates", str(ca_cert),
            "--auth-supernode-private-key", str(key),
            "--node-config", node_config(config),
            "--isolation", "process",
            "--host", "127.0.0.1",
            "--port", str(runtime_port),
        ]  # fmt: skip
        env = flower_environment(
            os.environ if environ is None else environ, flwr_home=state_dir / "flwr-home"
        )
        child = ChildProcess("flower-supernode", argv, env=env, log_path=state_dir / "logs" / "supernode.log")
        child.start()
        return cls(child)

    def stop(self) -> None:
        """Stop the SuperNode and the ClientApp workers it started (its process group)."""
        self.child.stop()

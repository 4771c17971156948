"""The Flower parts of a node as ``credgate status`` and ``credgate doctor`` report them.

A node started with ``--federated`` (or ``[federation] enabled = true``) writes
``federation.json`` in its data folder: at the bureau the SuperLink's loopback port and
the fleet relay's address, at a lender its SuperNode gateway's port and the relay it
reaches. The checks read that file and probe each part; they change nothing.
"""

from __future__ import annotations

import enum
import socket
from collections.abc import Mapping
from dataclasses import dataclass

from gateway.config import Settings
from gateway.errors import GatewayError

PROBE_TIMEOUT_SECONDS = 3.0


class PartState(enum.StrEnum):
    """How one Flower part looks from this host."""

    UP = "up"
    DOWN = "down"
    OFF = "off"


@dataclass(frozen=True)
class FlowerPart:
    """One Flower part, its state and what was seen."""

    name: str
    state: PartState
    detail: str


def flower_parts(
    settings: Settings, *, environ: Mapping[str, str], force_enabled: bool = False
) -> list[FlowerPart]:
    """The node's Flower parts and their state (``OFF`` when federation is not enabled).

    ``environ`` and ``force_enabled`` are what ``node start --federated`` would see; a node
    running its Flower parts (``federation.json`` present) is probed in any case.

    Raises
    ------
    ConfigError
        When ``[federation]`` is malformed.

    """
    from gateway.federation.parts import FEDERATION_FILE, read_info  # Flower loads only when asked
    from gateway.federation.settings import FederationSettings

    if settings.source is None:
        return [FlowerPart("federation", PartState.OFF, "settings not read from a file")]
    federation = FederationSettings.from_file(
        settings.source, settings, environ=environ, force_enabled=force_enabled
    )
    if not federation.enabled and not (settings.data_dir / FEDERATION_FILE).exists():
        return [FlowerPart("federation", PartState.OFF, "[federation] enabled = false")]
    try:
        info = read_info(settings.data_dir)
    except GatewayError as exc:
        return [FlowerPart("federation", PartState.DOWN, exc.message)]
    parts: list[FlowerPart] = []
    if "superlink_port" in info:
        parts.append(_superlink(settings, int(str(info["superlink_port"]))))
    if "gateway_port" in info:
        parts.append(_reachable("SuperNode fleet gateway", f"127.0.0.1:{info['gateway_port']}"))
    if info.get("relay_address"):
        parts.append(_reachable("fleet relay", str(info["relay_address"])))
    return parts


def _superlink(settings: Settings, port: int) -> FlowerPart:
    from gateway.federation.control import ControlClient

    control = ControlClient(port, ca_cert=settings.tls.ca_cert)
    try:
        healthy = control.healthy()
    finally:
        control.close()
    state = PartState.UP if healthy else PartState.DOWN
    return FlowerPart(
        "SuperLink", state, f"127.0.0.1:{port} {'answers' if healthy else 'does not answer'} /health"
    )


def _reachable(name: str, address: str) -> FlowerPart:
    host, _, port = address.rpartition(":")
    if host in ("0.0.0.0", "::", "[::]"):
        host = "127.0.0.1"
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=PROBE_TIMEOUT_SECONDS):
            pass
    except (OSError, ValueError) as exc:
        return FlowerPart(name, PartState.DOWN, f"{address} refuses connections ({exc})")
    return FlowerPart(name, PartState.UP, f"{address} accepts connections")

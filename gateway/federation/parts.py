"""The Flower parts a node process starts next to its gRPC server, and stops before it.

Bureau: SuperLink on loopback + the mTLS fleet relay. Member: the loopback fleet
gateway (with the bundle allow-list) + its SuperNode. ``federation.json`` in the
node's data folder records the addresses for operators and ``credgate train``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from gateway.config import Settings
from gateway.egress.opaque import OpaqueEgress
from gateway.federation.bundles import BundleAllowList
from gateway.federation.children import ChildProcess
from gateway.federation.errors import FederationError
from gateway.federation.member_gateway import BundleGuard, MemberFleetGateway
from gateway.federation.node_keys import SuperNodeKeyPins
from gateway.federation.relay import FEDERATION_ROLES, FleetRelay, start_relay
from gateway.federation.settings import FederationSettings
from gateway.federation.superlink import SuperLink
from gateway.federation.supernode import SuperNode
from gateway.federation.watchdog import ChildWatchdog
from gateway.identity.peer import Role
from gateway.identity.tls import TLSIdentity
from gateway.node.runtime import RunningNode
from gateway.rpc.channel import open_channel

FEDERATION_FILE = "federation.json"
_LOG = logging.getLogger(__name__)


def member_node_config(settings: Settings, federation: FederationSettings) -> dict[str, str]:
    """The node config every ClientApp of this member gets: store, id, feature source, TLS and policies.

    The TLS files let the ClientApp sign its SecAgg+ keys and check its neighbours'
    (:mod:`federated.key_binding`); the policies folder holds what it accepts from the
    bureau (``federated.toml``).
    """
    config = {
        "store-url": settings.store_url,
        "member-id": settings.member_id,
        "tls-cert": str(settings.tls.cert),
        "tls-key": str(settings.tls.key),
        "ca-cert": str(settings.tls.ca_cert),
        "policies-dir": str(settings.policies_dir),
    }
    if settings.tls.crl is not None:
        config["crl"] = str(settings.tls.crl)
    if federation.features_table:
        config["features-table"] = federation.features_table
    return config


@dataclass
class FederationParts:
    """What was started, in order; :meth:`stop` undoes it in reverse."""

    info: dict[str, object]
    stoppers: list[Callable[[], None]] = field(default_factory=list)
    guard: BundleGuard | None = None
    watchdogs: list[ChildWatchdog] = field(default_factory=list)

    def stop(self) -> None:
        """Stop every part, last started first; keep going past a failing one."""
        while self.stoppers:
            stop = self.stoppers.pop()
            try:
                stop()
            except Exception:
                _LOG.exception("stopping a federation part failed")


def start_bureau_parts(
    settings: Settings, identity: TLSIdentity, federation: FederationSettings
) -> FederationParts:
    """Start the SuperLink and the fleet relay; write ``federation.json``.

    Raises
    ------
    FederationError
        When a part cannot start.

    """
    parts = FederationParts({"role": "bureau"})
    try:
        superlink = SuperLink.start(settings.tls, federation.state_dir)
        parts.stoppers.append(superlink.stop)
        pins = SuperNodeKeyPins(
            federation.state_dir,
            lambda key, name: superlink.control.register_node(key, name=name),
            # The SuperLink keeps registrations in memory: a restarted one (new pid) needs them again.
            generation=lambda: superlink.child.pid,
        )
        relay = FleetRelay(identity, superlink.port, pins)
        parts.stoppers.append(relay.close)
        server = start_relay(identity, federation.relay_listen, relay)
        parts.stoppers.append(lambda: _discard(server.stop(1.0)))
        _watch(parts, superlink.child)
    except BaseException:
        parts.stop()
        raise
    host = federation.relay_listen.rpartition(":")[0]
    parts.info.update({"superlink_port": superlink.port, "relay_address": f"{host}:{server.port}"})
    _write_info(parts, settings.data_dir)
    return parts


def start_member_parts(
    settings: Settings,
    identity: TLSIdentity,
    federation: FederationSettings,
    *,
    egress: OpaqueEgress | None = None,
) -> FederationParts:
    """Start the loopback fleet gateway and the SuperNode; write ``federation.json``.

    ``egress`` (the node's guard) scans every fleet body the SuperNode sends for this node's own
    identifiers before it leaves; the ClientApp's egress mod has checked each reply field by field.

    Raises
    ------
    FederationError
        When no relay address is configured or a part cannot start.

    """
    if federation.relay_address is None:
        raise FederationError('a federated member needs [federation] relay_address = "host:port"')
    parts = FederationParts({"role": "member"})
    BundleAllowList.from_file(federation.bundles_path)  # a malformed list stops the start
    try:
        channel = open_channel(
            identity,
            federation.relay_address,
            peer_member_id=settings.bureau_member_id,
            # Fleet bodies are Flower's protobuf messages (masked model updates), not credgate
            # fields the interceptors can type-check: the gateway scans them (OpaqueEgress).
            egress=None,
        )
        gateway = MemberFleetGateway(
            settings.tls, channel, BundleGuard(federation.bundles_path), egress=egress
        )
        gateway.start()
        parts.stoppers.append(gateway.stop)
        parts.guard = gateway.guard
        supernode = SuperNode.start(
            gateway_port=gateway.port,
            ca_cert=settings.tls.ca_cert,
            state_dir=federation.state_dir,
            config=member_node_config(settings, federation),
        )
        parts.stoppers.append(supernode.stop)
        _watch(parts, supernode.child)
    except BaseException:
        parts.stop()
        raise
    parts.info.update({"gateway_port": gateway.port, "relay_address": federation.relay_address})
    _write_info(parts, settings.data_dir)
    return parts


def _watch(parts: FederationParts, *children: ChildProcess) -> None:
    """Restart any of ``children`` that exits; the watchdog stops before any part does."""
    watchdog = ChildWatchdog(children)
    watchdog.start()
    parts.stoppers.append(watchdog.stop)
    parts.watchdogs.append(watchdog)


def read_info(data_dir: Path) -> dict[str, object]:
    """Read a running node's ``federation.json``.

    Raises
    ------
    FederationError
        When the node is not running with its Flower parts.

    """
    path = data_dir / FEDERATION_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise FederationError(
            f"{path} is missing: is the node running with --federated?", reason="not_federated"
        ) from exc
    if not isinstance(data, dict):
        raise FederationError(f"{path} is malformed")
    return data


def _write_info(parts: FederationParts, data_dir: Path) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / FEDERATION_FILE
    info = parts.info
    parts.stoppers.insert(0, lambda: path.unlink(missing_ok=True))
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)


def attach_to_node(node: RunningNode, federation: FederationSettings) -> None:
    """Start the node's Flower parts and stop them first when the node stops.

    Raises
    ------
    FederationError
        When a part cannot start; the node is stopped too.

    """
    role = node.identity.own.role
    if role is not Role.BUREAU and role not in FEDERATION_ROLES:
        _LOG.info("role %s does not take part in federated training; no SuperNode started", role.value)
        return
    try:
        if role is Role.BUREAU:
            parts = start_bureau_parts(node.settings, node.identity, federation)
        else:
            opaque = node.egress.opaque if node.egress is not None else None
            parts = start_member_parts(node.settings, node.identity, federation, egress=opaque)
    except BaseException:
        node.stop()
        raise
    node.closers.insert(0, parts.stop)


def _discard(_stopped: bool) -> None:
    """A stopper returns nothing (the relay logs a stop it could not complete itself)."""

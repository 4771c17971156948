"""Assemble a node from its settings and run it until SIGTERM or SIGINT.

Start-up order: TLS identity (the certificate must name the configured member
and a role fit for the process), store (migrated to head), policies (validated),
audit log, then the mTLS server. A member then links to the bureau. Shutdown
reverses it: stop the link, drain the server, close the store.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from gateway._proto.credgate.v1 import bureau_pb2_grpc, member_pb2_grpc
from gateway.audit import AuditRecorder
from gateway.bureau import ConsortiumDirectory
from gateway.config import Settings
from gateway.errors import ConfigError
from gateway.identity.peer import Role
from gateway.identity.tls import TLSIdentity
from gateway.node.bureau_link import BureauLink
from gateway.policy import PolicyDecisionPoint
from gateway.rpc.interceptors import AuthorizationInterceptor
from gateway.rpc.server import Registration, RunningServer, start_server
from gateway.rpc.servicers.bureau import BureauServicer
from gateway.store.database import Store, open_store
from gateway.store.repositories.audit import AuditLog
from gateway.store.repositories.members import MemberDirectory

RUNTIME_FILE = "runtime.json"
SHUTDOWN_GRACE_SECONDS = 5.0
MEMBER_ROLES = frozenset({Role.BANK, Role.CONSUMER_FINANCE, Role.MICRO_LENDER, Role.AGENCY})
Clock = Callable[[], dt.datetime]
_LOG = logging.getLogger(__name__)


def utc_now() -> dt.datetime:
    """The wall clock in UTC."""
    return dt.datetime.now(dt.UTC)


@dataclass
class RunningNode:
    """A started node: its server, store and (for members) bureau link."""

    settings: Settings
    identity: TLSIdentity
    store: Store
    server: RunningServer
    link: BureauLink | None = None
    stopped: threading.Event = field(default_factory=threading.Event)

    @property
    def address(self) -> str:
        """``host:port`` the node serves on."""
        host = self.settings.listen.rpartition(":")[0]
        return f"{host}:{self.server.port}"

    def stop(self) -> None:
        """Stop the link, drain in-flight calls, close the store."""
        if self.stopped.is_set():
            return
        if self.link is not None:
            self.link.stop()
        self.server.stop(SHUTDOWN_GRACE_SECONDS)
        self.store.close()
        self.stopped.set()
        _LOG.info("node %s stopped", self.identity.own.member_id)


def start_bureau(settings: Settings, *, clock: Clock = utc_now) -> RunningNode:
    """Start the bureau: directory service over mTLS.

    Raises
    ------
    ConfigError
        When the certificate is not a bureau certificate for ``settings.member_id``.

    """
    identity, store, policy, audit = _assemble(settings, allowed_roles=frozenset({Role.BUREAU}), clock=clock)
    directory = ConsortiumDirectory(MemberDirectory(store), policy)
    # RPCs of later features (subject check, tokens, reports…) answer UNIMPLEMENTED through
    # the generated base class until their handlers exist.
    servicer = BureauServicer(  # type: ignore[abstract]
        directory, heartbeat_seconds=settings.heartbeat_seconds, clock=clock
    )
    services: list[tuple[str, Registration]] = [
        (
            "credgate.v1.BureauService",
            lambda s: bureau_pb2_grpc.add_BureauServiceServicer_to_server(servicer, s),
        ),
    ]
    server = _serve(settings, identity, policy, audit, services)
    return _announce(RunningNode(settings, identity, store, server))


def start_member(settings: Settings, *, clock: Clock = utc_now) -> RunningNode:
    """Start a member node and its link to the bureau.

    Raises
    ------
    ConfigError
        When the certificate is not a member certificate for ``settings.member_id``
        or no bureau address is configured.

    """
    if settings.bureau_address is None:
        raise ConfigError('a member node needs [bureau] address = "host:port"')
    identity, store, policy, audit = _assemble(settings, allowed_roles=MEMBER_ROLES, clock=clock)
    # The member service's fan-out RPCs answer UNIMPLEMENTED until the queries
    # that use them exist; registering it keeps the contract discoverable.
    servicer = member_pb2_grpc.MemberServiceServicer()  # type: ignore[abstract]
    services: list[tuple[str, Registration]] = [
        (
            "credgate.v1.MemberService",
            lambda s: member_pb2_grpc.add_MemberServiceServicer_to_server(servicer, s),
        ),
    ]
    server = _serve(settings, identity, policy, audit, services)
    node = RunningNode(settings, identity, store, server)
    node.link = BureauLink(
        identity,
        bureau_address=settings.bureau_address,
        bureau_member_id=settings.bureau_member_id,
        advertised_address=node.address,
        heartbeat_seconds=settings.heartbeat_seconds,
    )
    node.link.start()
    return _announce(node)


def run_until_signalled(node: RunningNode) -> None:
    """Block until SIGTERM or SIGINT, then stop the node cleanly."""
    received = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        _LOG.info("received %s, shutting down", signal.Signals(signum).name)
        received.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    received.wait()
    node.stop()


def _assemble(
    settings: Settings, *, allowed_roles: frozenset[Role], clock: Clock
) -> tuple[TLSIdentity, Store, PolicyDecisionPoint, AuditRecorder]:
    identity = TLSIdentity.from_settings(settings.tls)
    own = identity.own
    if own.member_id != settings.member_id:
        raise ConfigError(
            f"certificate {settings.tls.cert} is for {own.member_id!r}, "
            f"but node.member_id is {settings.member_id!r}"
        )
    if own.role not in allowed_roles:
        expected = ", ".join(sorted(role.value for role in allowed_roles))
        raise ConfigError(f"certificate role is {own.role.value!r}; this process needs one of: {expected}")
    identity.revocations.check(own.serial)
    store = open_store(settings.store_url)
    policy = PolicyDecisionPoint.from_directory(
        settings.policies_dir, node_id=own.member_id, node_role=own.role
    )
    audit = AuditRecorder(AuditLog(store), node_id=own.member_id, clock=clock)
    return identity, store, policy, audit


def _serve(
    settings: Settings,
    identity: TLSIdentity,
    policy: PolicyDecisionPoint,
    audit: AuditRecorder,
    services: list[tuple[str, Registration]],
) -> RunningServer:
    interceptor = AuthorizationInterceptor(policy=policy, revocations=identity.revocations, audit=audit)
    return start_server(
        identity=identity, listen=settings.listen, services=services, interceptors=[interceptor]
    )


def _announce(node: RunningNode) -> RunningNode:
    """Write ``runtime.json`` (address, pid) so operators and the demo can find the node."""
    node.settings.data_dir.mkdir(parents=True, exist_ok=True)
    info = {
        "member_id": node.identity.own.member_id,
        "role": node.identity.own.role.value,
        "address": node.address,
        "pid": os.getpid(),
    }
    path = node.settings.data_dir / RUNTIME_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(info) + "\n", encoding="utf-8")
    tmp.replace(path)
    _LOG.info("node %s (%s) serving on %s", info["member_id"], info["role"], info["address"])
    return node

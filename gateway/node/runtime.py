"""Assemble a node from its settings and run it until SIGTERM or SIGINT.

Start-up order: TLS identity (the certificate must name the configured member
and a role fit for the process), store (migrated to head), policies (validated),
audit log, the handlers, then the mTLS server. A member then links to the
bureau. Shutdown reverses it: stop the link, drain the server, close channels
and the store.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import numpy as np

from gateway._proto.credgate.v1 import bureau_pb2_grpc, member_pb2_grpc
from gateway.audit import AuditRecorder
from gateway.bureau import ConsortiumDirectory
from gateway.bureau.directory import liveness_window
from gateway.bureau.oprf import OPRFEvaluator, OPRFUsageLedger
from gateway.bureau.rate_limit import Limit, RateLimiter
from gateway.bureau.secret_relay import SecretRelay
from gateway.clock import Clock, system_clock
from gateway.config import RUNTIME_FILE, Settings
from gateway.contact.desk import ClearanceDesk, DeskSettings, ServingEpoch
from gateway.contact.flags import FlagPublisher
from gateway.contact.keys import MembersSecretDailyKeys
from gateway.crypto.ed25519 import load_or_create_log_key
from gateway.crypto.keys import NodeKeys
from gateway.crypto.members_secret import MembersSecretStore
from gateway.errors import ConfigError
from gateway.identity.peer import Role
from gateway.identity.tls import TLSIdentity
from gateway.node.bureau_client import BureauClient
from gateway.node.bureau_link import BureauLink, SignedKeys
from gateway.node.ceremony import SecretReceiver
from gateway.node.contact_calls import GrpcContactTransport
from gateway.node.egress import NodeEgress, node_egress
from gateway.node.pins import PinStore
from gateway.node.tokeniser import RemoteTokeniser
from gateway.observability import metrics
from gateway.policy import PolicyDecisionPoint
from gateway.policy.contact_rules import ContactRules
from gateway.queries.inquiries.collector import InquiryCollector
from gateway.queries.inquiries.relay import InquiryRelay
from gateway.queries.reports.board import HoldersBoard, RoundJournal
from gateway.queries.reports.coordinator import CoordinatorSettings, ReportCoordinator
from gateway.queries.reports.responder import ReportResponder, ResponderContext
from gateway.queries.subject_check.layout import VectorLayout
from gateway.queries.subject_check.profile import SubjectProfiler
from gateway.queries.subject_check.responder import SubjectCheckResponder
from gateway.queries.subject_check.router import RouterSettings, SubjectCheckRouter
from gateway.queries.subject_check.settings import SubjectCheckSettings
from gateway.reports.budget import BUDGET_FILE, BudgetPolicy, ReleaseCache
from gateway.reports.ledger import ReportLedger
from gateway.reports.noise import NoiseShareSource
from gateway.rpc.channel import open_channel
from gateway.rpc.fanout import (
    GrpcInquiryCaller,
    GrpcMemberCaller,
    GrpcSecretCaller,
    GrpcShareCaller,
    MemberChannels,
)
from gateway.rpc.interceptors import AuthorizationInterceptor
from gateway.rpc.interceptors.limits import CallLimitInterceptor
from gateway.rpc.interceptors.observer import CallObserver
from gateway.rpc.server import Registration, RunningServer, start_server
from gateway.rpc.servicers.bureau import BureauHandlers, BureauServicer
from gateway.rpc.servicers.member import MemberServicer
from gateway.store.database import Store, open_store
from gateway.store.repositories.audit import AuditLog
from gateway.store.repositories.blacklist import live_listings
from gateway.store.repositories.checks import CheckCache
from gateway.store.repositories.members import MemberDirectory
from gateway.store.repositories.rounds import ResponderState
from gateway.transparency.agent import MemberWitness
from gateway.transparency.bureau import BureauTransparency
from gateway.transparency.client import TransparencyClient
from gateway.transparency.gate import KeyLogGate
from gateway.transparency.settings import TransparencySettings
from gateway.transparency.ticker import Ticker

# The port a node listening on port 0 got, kept in its data_dir so that a restart reuses it.
PORT_FILE = "port"
# How often a member checks whether its contact flags need publishing (a new day, a change).
FLAG_PUBLISH_SECONDS = 30.0
MEMBER_ROLES = frozenset({Role.BANK, Role.CONSUMER_FINANCE, Role.MICRO_LENDER, Role.AGENCY})
_LOG = logging.getLogger(__name__)


@dataclass
class RunningNode:
    """A started node: its server, store, (for members) bureau link, and what to close."""

    settings: Settings
    identity: TLSIdentity
    store: Store
    server: RunningServer
    link: BureauLink | None = None
    # The node's egress guard, for parts started beside it (the Flower fleet gateway).
    egress: NodeEgress | None = None
    closers: list[Callable[[], None]] = field(default_factory=list)
    stopped: threading.Event = field(default_factory=threading.Event)
    # Where Prometheus metrics are served ([metrics] listen), once started.
    metrics_address: str | None = None

    @property
    def address(self) -> str:
        """``host:port`` the node serves on."""
        host = self.settings.listen.rpartition(":")[0]
        return f"{host}:{self.server.port}"

    def stop(self) -> None:
        """Stop the link, drain in-flight calls, close channels and the store."""
        if self.stopped.is_set():
            return
        if self.link is not None:
            self.link.stop()
        self.server.stop(self.settings.server.shutdown_grace_seconds)
        for close in self.closers:
            close()
        self.store.close()
        self.stopped.set()
        _LOG.info("node_stopped", extra={"member": self.identity.own.member_id})


@dataclass(frozen=True)
class _Core:
    identity: TLSIdentity
    store: Store
    policy: PolicyDecisionPoint
    audit: AuditRecorder
    check_settings: SubjectCheckSettings
    egress: NodeEgress
    transparency: TransparencySettings


def start_bureau(
    settings: Settings, *, clock: Clock = system_clock, interceptors: Sequence[grpc.ServerInterceptor] = ()
) -> RunningNode:
    """Start the bureau: directory, OPRF evaluation, subject-check routing, subject access.

    Raises
    ------
    ConfigError
        When the certificate is not a bureau certificate for ``settings.member_id``.

    """
    core = _assemble(settings, allowed_roles=frozenset({Role.BUREAU}), clock=clock)
    limits = core.check_settings.rate_limits
    directory = ConsortiumDirectory(
        MemberDirectory(core.store),
        core.policy,
        ca_certificate_pem=core.identity.ca_pem,
        revocations=core.identity.revocations,
        clock=clock,
    )
    channels = MemberChannels(core.identity, egress=core.egress.client)
    liveness = liveness_window(settings.heartbeat_seconds)
    layout = VectorLayout.from_settings(core.check_settings)
    router = SubjectCheckRouter(
        directory=directory,
        caller=GrpcMemberCaller(channels, width=layout.width),
        cache=CheckCache(core.store),
        limiter=RateLimiter(
            (
                Limit(limits.subjects_per_minute, dt.timedelta(minutes=1), "subjects per minute"),
                Limit(limits.subjects_per_day, dt.timedelta(days=1), "subjects per day"),
            )
        ),
        policy=core.policy,
        audit=core.audit,
        settings=core.check_settings,
        router=RouterSettings(liveness_window=liveness),
        clock=clock,
    )
    oprf = OPRFEvaluator(
        key_folder=oprf_key_folder(settings),
        limiter=RateLimiter(
            (
                Limit(
                    limits.oprf_evaluations_per_minute, dt.timedelta(minutes=1), "OPRF evaluations per minute"
                ),
            )
        ),
        usage=OPRFUsageLedger(core.store, core.check_settings.oprf_caps),
        policy=core.policy,
        audit=core.audit,
        clock=clock,
        zone=core.check_settings.zone,
    )
    inquiries = InquiryRelay(
        members=directory.members,
        caller=GrpcInquiryCaller(channels, clock=clock),
        policy=core.policy,
        audit=core.audit,
        clock=clock,
        liveness_window=liveness,
        timeout=core.check_settings.aggregation.member_deadline_seconds,
        limiter=RateLimiter(
            (
                Limit(
                    core.check_settings.subject_access.max_per_relayer_per_day,
                    dt.timedelta(days=1),
                    "subject-access requests per day",
                ),
            )
        ),
    )
    journal = RoundJournal.in_data_dir(settings.data_dir)
    board = HoldersBoard(journal)
    reports = ReportCoordinator(
        members=directory.members,
        caller=GrpcShareCaller(channels),
        board=board,
        journal=journal,
        cache=ReleaseCache.in_data_dir(settings.data_dir),
        policy=core.policy,
        audit=core.audit,
        policies_dir=settings.policies_dir,
        ca_certificate_pem=core.identity.ca_pem,
        revocations=core.identity.revocations,
        settings=CoordinatorSettings(liveness_window=liveness),
        clock=clock,
    )
    secrets = SecretRelay(
        members=directory.members,
        caller=GrpcSecretCaller(channels),
        audit=core.audit,
        timeout=core.check_settings.aggregation.member_deadline_seconds,
    )
    transparency = BureauTransparency(
        core.store,
        member_id=core.identity.own.member_id,
        identity_cert_pem=core.identity.cert_pem,
        identity_key_pem=core.identity.key_pem,
        log_key=load_or_create_log_key(settings.data_dir / "keys"),
        ca_dir=settings.ca_dir,
        clock=clock,
    )
    transparency.tick()
    contact = ClearanceDesk(
        store=core.store,
        rules=ContactRules.from_directory(settings.policies_dir),
        policy=core.policy,
        audit=core.audit,
        settings=DeskSettings(
            ca_certificate_pem=core.identity.ca_pem,
            revocations=core.identity.revocations,
            serving_token_epoch=ServingEpoch(oprf_key_folder(settings)),
        ),
        clock=clock,
    )
    handlers = BureauHandlers(
        directory,
        oprf,
        router,
        inquiries,
        reports,
        board,
        layout.version,
        settings.data_dir / "federation" / "runs",
        transparency=transparency,
        secrets=secrets,
        contact=contact,
    )
    servicer = BureauServicer(handlers, heartbeat_seconds=settings.heartbeat_seconds, clock=clock)
    services: list[tuple[str, Registration]] = [
        (
            "credgate.v1.BureauService",
            lambda s: bureau_pb2_grpc.add_BureauServiceServicer_to_server(servicer, s),
        ),
    ]
    node = _start_node(settings, core, services, interceptors)
    node.closers.append(channels.close)
    ticker = Ticker("key-log", transparency.tick, interval=core.transparency.checkpoint_seconds)
    ticker.start()
    node.closers.insert(0, ticker.stop)
    runs = settings.data_dir / "federation" / "runs"
    metrics.register_gauge(
        metrics.GaugeSource(
            "credgate_federated_rounds",
            "Finished federated-learning rounds of each run the bureau started (credgate train).",
            ("run", "status"),
            lambda: federated_rounds(runs),
        )
    )
    return _announce(node)


def start_member(
    settings: Settings, *, clock: Clock = system_clock, interceptors: Sequence[grpc.ServerInterceptor] = ()
) -> RunningNode:
    """Start a member node and its link to the bureau.

    Raises
    ------
    ConfigError
        When the certificate is not a member certificate for ``settings.member_id``
        or no bureau address is configured.

    """
    if settings.bureau_address is None:
        raise ConfigError('a member node needs [bureau] address = "host:port"')
    core = _assemble(settings, allowed_roles=MEMBER_ROLES, clock=clock)
    own = core.identity.own
    keys = NodeKeys.load_or_create(settings.data_dir / "keys")
    log_key = load_or_create_log_key(settings.data_dir / "keys")
    bureau = BureauClient(
        core.identity,
        settings.bureau_address,
        bureau_member_id=settings.bureau_member_id,
        egress=core.egress.client,
    )
    secrets = MembersSecretStore.for_data_dir(settings.data_dir)
    gate = KeyLogGate(
        core.store,
        ca_certificate_pem=core.identity.ca_pem,
        bureau_member_id=settings.bureau_member_id,
        settings=core.transparency,
        clock=clock,
    )
    peers = PinStore(
        core.store,
        core.identity,
        lambda: bureau.directory()[0],
        clock=clock,
        audit=core.audit,
        gate=gate,
        trust_wait=dt.timedelta(seconds=core.transparency.trust_wait_seconds),
    )
    profiler = SubjectProfiler(core.store, role=own.role, settings=core.check_settings)
    responder = SubjectCheckResponder(
        me=own,
        keys=keys,
        tls_key_pem=core.identity.key_pem,
        profiler=profiler,
        peers=peers,
        secrets=secrets,
        state=ResponderState(core.store),
        settings=core.check_settings,
        audit=core.audit,
        clock=clock,
    )
    receiver = SecretReceiver(
        identity=core.identity, keys=keys, pins=peers, secrets=secrets, audit=core.audit, clock=clock
    )
    collector = InquiryCollector(
        core.store,
        identity=core.identity,
        keys=keys,
        pins=peers,
        secrets=secrets,
        settings=core.check_settings,
        audit=core.audit,
        clock=clock,
    )
    ledger = ReportLedger(
        core.store, BudgetPolicy.from_file(settings.policies_dir / BUDGET_FILE), clock=clock
    )
    reports = ReportResponder(
        ResponderContext(
            own.member_id,
            own.role,
            core.store,
            keys,
            settings.policies_dir,
            core.identity.ca_pem,
            core.identity.revocations,
        ),
        peers=peers,
        policy=core.policy,
        ledger=ledger,
        noise=NoiseShareSource(np.random.default_rng()),
        holders=bureau,
        members_secret=MembersSecretStore.for_data_dir(settings.data_dir).current,
        audit=core.audit,
        clock=clock,
    )
    metrics.register_gauge(
        metrics.GaugeSource(
            "credgate_privacy_budget_remaining",
            "zCDP rho this member still allows per regulator and reporting period.",
            ("regulator", "period"),
            lambda: [((regulator, period), left) for (regulator, period), left in ledger.balances().items()],
        )
    )
    servicer = MemberServicer(responder, collector, reports, receiver, layout_version=profiler.layout.version)
    services: list[tuple[str, Registration]] = [
        (
            "credgate.v1.MemberService",
            lambda s: member_pb2_grpc.add_MemberServiceServicer_to_server(servicer, s),
        ),
    ]
    node = _start_node(settings, core, services, interceptors)
    node.closers.append(bureau.close)
    zone = core.check_settings.zone
    node.link = BureauLink(
        core.identity,
        bureau_address=settings.bureau_address,
        bureau_member_id=settings.bureau_member_id,
        advertised_address=settings.advertise_address or node.address,
        heartbeat_seconds=settings.heartbeat_seconds,
        keys=SignedKeys.create(core.identity, keys, now=clock(), log_key=log_key),
        blacklist_listings=lambda: live_listings(core.store, clock().astimezone(zone).date()),
        egress=core.egress.client,
    )
    node.link.start()
    witness_channel = open_channel(
        core.identity,
        settings.bureau_address,
        peer_member_id=settings.bureau_member_id,
        egress=core.egress.client,
    )
    witness = MemberWitness(
        core.store,
        identity=core.identity,
        log_key=log_key,
        client=TransparencyClient(witness_channel, address=settings.bureau_address),
        audit=core.audit,
        bureau_member_id=settings.bureau_member_id,
        clock=clock,
    )
    ticker = Ticker("witness", witness.tick, interval=core.transparency.checkpoint_seconds)
    ticker.start()
    node.closers[:0] = [ticker.stop, witness_channel.close]
    _start_flag_publisher(node, core, bureau, clock)
    return _announce(node)


def _start_flag_publisher(node: RunningNode, core: _Core, bureau: BureauClient, clock: Clock) -> None:
    """Publish this member's contact flags every day (``gateway.contact.flags``).

    Tags are keyed with the members' secret; until the ceremony reaches this member each tick
    logs that the flags are not published yet (no epoch held).
    """
    publisher = FlagPublisher(
        me=core.identity.own,
        store=core.store,
        tokeniser=RemoteTokeniser(bureau.channel),
        day_keys=MembersSecretDailyKeys.for_data_dir(node.settings.data_dir),
        transport=GrpcContactTransport(bureau.channel),
        rules=ContactRules.from_directory(node.settings.policies_dir),
        clock=clock,
    )
    publisher.start(FLAG_PUBLISH_SECONDS)
    # Stopped before the bureau channel closes (closers run in order).
    node.closers.insert(0, publisher.stop)


def oprf_key_folder(settings: Settings) -> Path:
    """Where the bureau keeps its OPRF key ring (one file per epoch, mode 0600)."""
    return settings.data_dir / "oprf"


def _assemble(settings: Settings, *, allowed_roles: frozenset[Role], clock: Clock) -> _Core:
    identity = TLSIdentity.from_settings(settings.tls, clock=clock)
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
    check_settings = SubjectCheckSettings.from_directory(settings.policies_dir)
    store = open_store(settings.store_url)
    policy = PolicyDecisionPoint.from_directory(
        settings.policies_dir, node_id=own.member_id, node_role=own.role
    )
    audit = AuditRecorder(AuditLog(store), node_id=own.member_id, clock=clock)
    transparency = TransparencySettings.from_directory(settings.policies_dir)
    return _Core(
        identity, store, policy, audit, check_settings, node_egress(settings, store, audit, own), transparency
    )


def _start_node(
    settings: Settings,
    core: _Core,
    services: list[tuple[str, Registration]],
    extra: Sequence[grpc.ServerInterceptor],
) -> RunningNode:
    """Serve ``services`` over mTLS and wrap the node's parts (identity, store, guard)."""
    server = _serve(settings, core, services, extra)
    node = RunningNode(settings, core.identity, core.store, server, egress=core.egress)
    if settings.metrics_listen is not None:
        try:
            endpoint = metrics.serve_metrics(settings.metrics_listen)
        except BaseException:
            node.stop()
            raise
        node.metrics_address = endpoint.address
        node.closers.append(endpoint.stop)
    return node


def federated_rounds(runs: Path) -> list[tuple[tuple[str, str], float]]:
    """``((run, status), finished rounds)`` from each run's ``results.json`` (round 0 not counted)."""
    found: list[tuple[tuple[str, str], float]] = []
    for results in sorted(runs.glob("*/results.json")):
        try:
            document = json.loads(results.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # being rewritten (atomically) or not yet written
        if isinstance(document, dict):
            rounds = document.get("rounds", [])
            finished = sum(1 for r in rounds if isinstance(r, dict) and r.get("round", 0) != 0)
            found.append(((results.parent.name, str(document.get("status", "unknown"))), float(finished)))
    return found


def _serve(
    settings: Settings,
    core: _Core,
    services: list[tuple[str, Registration]],
    extra: Sequence[grpc.ServerInterceptor],
) -> RunningServer:
    limits = CallLimitInterceptor(settings.server)
    chosen = _previous_port(settings)
    if chosen is not None:
        try:
            server = _start(settings, core, services, extra, limits, listen=chosen)
        except ConfigError:
            _LOG.warning("previous_port_taken", extra={"listen": chosen})
        else:
            server.on_stop.append(limits.close)
            return server
    server = _start(settings, core, services, extra, limits, listen=settings.listen)
    server.on_stop.append(limits.close)
    return server


def _previous_port(settings: Settings) -> str | None:
    """``host:port`` this node served on last time, when ``listen`` lets the OS choose (port 0).

    A node restarted on port 0 comes back where its peers already know it (the demo's bureau:
    its members' configurations name the address it got the first time).
    """
    host, _, port = settings.listen.rpartition(":")
    try:
        previous = int((settings.data_dir / PORT_FILE).read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return None
    return f"{host}:{previous}" if port == "0" and 0 < previous < 65536 else None


def _start(
    settings: Settings,
    core: _Core,
    services: list[tuple[str, Registration]],
    extra: Sequence[grpc.ServerInterceptor],
    limits: CallLimitInterceptor,
    *,
    listen: str,
) -> RunningServer:
    interceptor = AuthorizationInterceptor(
        policy=core.policy, revocations=core.identity.revocations, audit=core.audit
    )
    # Outermost first. Extra interceptors (tests recording the wire) see every request first and
    # every response last, as it leaves; then the observer (metrics, one log line per call) and
    # the per-certificate limits, which shed load before any database work; then identity,
    # policy and audit; then the egress guard, closest to the handlers, on every response.
    return start_server(
        identity=core.identity,
        listen=listen,
        services=services,
        interceptors=[*extra, CallObserver(), limits, interceptor, core.egress.server],
        limits=settings.server,
    )


def _announce(node: RunningNode) -> RunningNode:
    """Write ``runtime.json`` (address, pid) so operators and the demo can find the node."""
    node.settings.data_dir.mkdir(parents=True, exist_ok=True)
    info = {
        "member_id": node.identity.own.member_id,
        "role": node.identity.own.role.value,
        "address": node.address,
        "pid": os.getpid(),
        "metrics_address": node.metrics_address,
    }
    path = node.settings.data_dir / RUNTIME_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(info) + "\n", encoding="utf-8")
    tmp.replace(path)
    (node.settings.data_dir / PORT_FILE).write_text(f"{node.server.port}\n", encoding="ascii")
    _LOG.info(
        "node_started", extra={"member": info["member_id"], "role": info["role"], "address": info["address"]}
    )
    return node

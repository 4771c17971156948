"""The bureau, deviating against regulator reports: a consortium on real mTLS sockets and the bureau's hands.

One consortium for the package (bureau, three banks, a consumer-finance company and an agency,
books of 2,500 synthetic people imported and tokenised; no micro-lender, so the micro-loan
segment is a phantom). Each test plays the bureau calling members' ``MemberService`` with
requests of its choosing (it holds the bureau's certificate), or asks through a regulator of
its own, so the ledgers of different tests never meet.
"""

from __future__ import annotations

import json
import os
import shutil
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from integration.recording import RecordingInterceptor
from integration.subject_check.conftest import MEMBERS, Consortium, _import_book

from gateway._proto.credgate.v1 import member_pb2_grpc
from gateway.aggregation import answering_set_hash
from gateway.aggregation.context import canonical_order
from gateway.bureau import MemberView
from gateway.clock import LOCAL_ZONE, local_date, system_clock
from gateway.config import Settings, default_policies_dir
from gateway.demo.provision import BUREAU_ID, NodePlan, provision_ca, provision_node
from gateway.identity.peer import Role
from gateway.identity.tls import TLSIdentity
from gateway.node.book_tokens import tokenise_book
from gateway.node.ceremony import run_ceremony
from gateway.node.runtime import start_bureau, start_member
from gateway.node.session import member_session
from gateway.queries.reports.client import ReceivedReport, RegulatorClient
from gateway.queries.reports.coordinator import ReportCoordinator
from gateway.queries.reports.messages import Phase, ShareRequest
from gateway.reports.budget import BUDGET_FILE, BudgetPolicy
from gateway.reports.histograms import Period
from gateway.reports.ledger import ChargeRecord, ReportLedger
from gateway.reports.order import ReportOrder, SignedOrder, VerifiedOrder, sign_order, verify_order
from gateway.reports.templates import load_template
from gateway.rpc.channel import open_channel
from gateway.rpc.fanout import GrpcShareCaller, MemberChannels
from gateway.store import open_store
from gateway.synth import Composition, SynthOptions, generate_consortium, write_consortium

PERIOD = str(Period.containing(system_clock(), LOCAL_ZONE).before(1))

# Room for the many releases the package's tests ask for, each through its own regulator: the
# cap per member over every regulator is raised (the ledger's unit tests cover it).
POLICY_EDITS = {
    "subject_check.toml": [("member_deadline_seconds = 5.0", "member_deadline_seconds = 60.0")],
    "privacy_budget.toml": [("rho_per_member_period = 0.15", "rho_per_member_period = 5.0")],
}


def copy_policies(folder: Path, edits: dict[str, list[tuple[str, str]]]) -> Path:
    """The shipped policies with ``edits`` applied."""
    shutil.copytree(default_policies_dir(), folder)
    for name, replacements in edits.items():
        path = folder / name
        text = path.read_text(encoding="utf-8")
        for old, new in replacements:
            assert old in text, old
            text = text.replace(old, new)
        path.write_text(text, encoding="utf-8")
    return folder


@dataclass
class ReportWorld(Consortium):
    """A consortium, the regulators provisioned so far, and the bureau's own channels."""

    regulators: dict[str, Settings] | None = None

    def regulator(self, name: str) -> Settings:
        """A regulator certificate of its own (provisioned on first use)."""
        assert self.regulators is not None
        if name not in self.regulators:
            self.regulators[name] = self.provision(name, Role.REGULATOR, bureau_address=self.bureau.address)
        return self.regulators[name]

    def request(self, regulator: str, template_id: str, period: str = PERIOD) -> ReceivedReport:
        """Ask the bureau for a report as ``regulator``, through the regulator's own client."""
        with member_session(self.regulator(regulator)) as session:
            return RegulatorClient.for_session(session).request(template_id, period)

    def bureau_identity(self) -> TLSIdentity:
        return TLSIdentity.from_settings(self.bureau.settings.tls)

    def as_bureau(self, member_id: str) -> member_pb2_grpc.MemberServiceStub:
        """A stub on a channel to ``member_id`` presenting the bureau's certificate."""
        channel = open_channel(
            self.bureau_identity(), self.members[member_id].address, peer_member_id=member_id, egress=None
        )
        return member_pb2_grpc.MemberServiceStub(channel)

    def member_store_url(self, member_id: str) -> str:
        return self.settings[member_id].store_url

    def order(self, regulator: str, template_id: str, period: str = PERIOD) -> VerifiedOrder:
        """An order the regulator really signed (the bureau sees every order it relays)."""
        settings = self.regulator(regulator)
        identity = TLSIdentity.from_settings(settings.tls)
        order = ReportOrder(template_id, period, os.urandom(16))
        signed = SignedOrder(
            order,
            sign_order(order, identity.key_pem),
            ssl.PEM_cert_to_DER_cert(identity.cert_pem.decode("ascii")),
        )
        return verify_order(
            signed, ca_certificate_pem=identity.ca_pem, revocation=identity.revocations, now=system_clock()
        )

    def coordinator(self) -> ReportCoordinator:
        """The running bureau's report coordinator: the bureau's own hands on rounds and its board."""
        import gc

        found = [
            o
            for o in gc.get_objects()
            if isinstance(o, ReportCoordinator) and o._policies_dir == self.bureau.settings.policies_dir
        ]
        assert len(found) == 1, found
        return found[0]

    def views(self) -> dict[str, MemberView]:
        """The bureau's directory views of the members."""
        coordinator = self.coordinator()
        return {view.member_id: view for view in coordinator._members()}

    def bureau_round(self, order: VerifiedOrder) -> Any:
        """The bureau's round object for ``order``, as its coordinator builds it."""
        from gateway.queries.reports.coordinator import _Round

        template = load_template(self.bureau.settings.policies_dir, order.order.template_id)
        return _Round(template, order, order.request_hash(template.version), system_clock())

    def caller(self) -> GrpcShareCaller:
        """The bureau's own callers to members' ComputeReportShare and OpenReportShare."""
        return GrpcShareCaller(MemberChannels(self.bureau_identity(), egress=None))

    def share_request(
        self,
        order: VerifiedOrder,
        phase: Phase,
        attempt: int,
        members: tuple[str, ...],
        totals: tuple[int, ...] = (),
    ) -> ShareRequest:
        """A share request as the bureau can make it for any attempt and set it chooses."""
        round_ = self.bureau_round(order)
        ordered = tuple(canonical_order(members))
        return ShareRequest(
            query_time=system_clock(),
            idempotency_key=order.order.nonce,
            attempt=attempt,
            template_id=round_.template.template_id,
            template_version=round_.template.version,
            period=order.order.period,
            regulator=order.regulator.member_id,
            request_hash=round_.request_hash,
            answering_set_hash=answering_set_hash(ordered),
            participants=ordered,
            phase=phase,
            order=order.signed,
            noisy_totals=totals,
        )


@pytest.fixture(scope="package")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReportWorld]:
    root = tmp_path_factory.mktemp("report-adversarial")
    books = root / "books"
    options = SynthOptions(
        people=2500,
        seed=5,
        composition=Composition(bank=3, consumer_finance=1, micro_lender=0, agency=1),
        as_of=local_date(system_clock()),
    )
    write_consortium(generate_consortium(options), books)
    truth: dict[str, Any] = json.loads((books / "truth.json").read_text())
    policies = copy_policies(root / "policies", POLICY_EDITS)
    authority = provision_ca(root / "ca", now=system_clock())

    def provision(
        member_id: str, role: Role, *, bureau_address: str | None = None, heartbeat_seconds: float = 0.2
    ) -> Settings:
        plan = NodePlan(member_id, role, root / "nodes" / member_id)
        plan.directory.mkdir(parents=True)
        return provision_node(
            authority,
            plan,
            bureau_address=bureau_address,
            heartbeat_seconds=heartbeat_seconds,
            now=system_clock(),
            policies_dir=policies,
        )

    bureau_recorder = RecordingInterceptor()
    bureau = start_bureau(provision(BUREAU_ID, Role.BUREAU), interceptors=[bureau_recorder])
    settings = {m: provision(m, role, bureau_address=bureau.address) for m, role in MEMBERS.items()}
    for member_id, member_settings in settings.items():
        _import_book(member_settings, books / member_id)
    recorders = {m: RecordingInterceptor() for m in settings}
    members = {m: start_member(s, interceptors=[recorders[m]]) for m, s in settings.items()}
    world = ReportWorld(bureau, members, settings, truth, books, provision, bureau_recorder, recorders, {})
    try:
        world.wait_online()
        with member_session(settings["bank-1"]) as session:
            _, delivered, failed = run_ceremony(session)  # the members' secret, made by members
            assert (len(delivered), failed) == (len(MEMBERS) - 1, [])
        for member_settings in settings.values():
            with member_session(member_settings) as session:
                tokenise_book(session.store, session.tokeniser, now=system_clock())
        yield world
    finally:
        for node in members.values():
            node.stop()
        bureau.stop()


def rpc_code(error: grpc.RpcError) -> grpc.StatusCode:
    """The status code of a failed call."""
    code = error.code()  # type: ignore[attr-defined]  # a failed call's RpcError is also a Call
    assert isinstance(code, grpc.StatusCode)
    return code


def ledger(world: ReportWorld, member_id: str) -> Iterator[ReportLedger]:
    """A member's report ledger (its store opened beside the running node)."""
    settings = world.settings[member_id]
    store = open_store(settings.store_url)
    try:
        yield ReportLedger(
            store, BudgetPolicy.from_file(settings.policies_dir / BUDGET_FILE), clock=system_clock
        )
    finally:
        store.close()


def all_charges(world: ReportWorld, member_id: str) -> list[ChargeRecord]:
    """Every charge a member's ledger holds."""
    with contextmanager(ledger)(world, member_id) as book:
        return book.charges()

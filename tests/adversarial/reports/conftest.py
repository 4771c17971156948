"""The bureau, deviating against regulator reports: a consortium on real mTLS sockets and the bureau's hands.

One consortium for the package (bureau, three banks, a consumer-finance company and an agency,
books of 2,500 synthetic people imported and tokenised; no micro-lender, so the micro-loan
segment is a phantom). Each test plays the bureau calling members' ``MemberService`` with
requests of its choosing (it holds the bureau's certificate), or asks through a regulator of
its own, so the ledgers of different tests never meet.
"""

from __future__ import annotations

import json
import shutil
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
from gateway.clock import LOCAL_ZONE, local_date, system_clock
from gateway.config import Settings, default_policies_dir
from gateway.demo.provision import BUREAU_ID, NodePlan, provision_ca, provision_node
from gateway.identity.peer import Role
from gateway.identity.tls import TLSIdentity
from gateway.node.book_tokens import tokenise_book
from gateway.node.runtime import start_bureau, start_member
from gateway.node.session import member_session
from gateway.queries.reports.client import ReceivedReport, RegulatorClient
from gateway.reports.histograms import Period
from gateway.rpc.channel import open_channel
from gateway.reports.budget import BUDGET_FILE, BudgetPolicy
from gateway.reports.ledger import ChargeRecord, ReportLedger
from gateway.store import open_store
from gateway.synth import Composition, SynthOptions, generate_consortium, write_consortium

PERIOD = str(Period.containing(system_clock(), LOCAL_ZONE).before(1))

# Room for the many releases the package's tests ask for, each through its own regulator.
POLICY_EDITS = {
    "subject_check.toml": [("member_deadline_seconds = 5.0", "member_deadline_seconds = 60.0")],
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
        yield ReportLedger(store, BudgetPolicy.from_file(settings.policies_dir / BUDGET_FILE), clock=system_clock)
    finally:
        store.close()


def all_charges(world: ReportWorld, member_id: str) -> list[ChargeRecord]:
    """Every charge a member's ledger holds."""
    with contextmanager(ledger)(world, member_id) as book:
        return book.charges()

"""The deviating parties' toolkit: a consortium on real mTLS sockets, and the bureau's own hands.

One consortium for the package (bureau, three banks, a consumer-finance company and an
agency, books imported and tokenised, the members' secret made by a ceremony), built
with the in-process fixtures of ``tests/integration/subject_check``. Each test plays one
deviating party: the bureau calling members' RPCs with requests of its choosing (it holds
the bureau's certificate and keys, its store and the OPRF key), a lender choosing
recipients, or a relaying member choosing keys.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import shutil
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest
from integration.recording import RecordingInterceptor
from integration.subject_check.conftest import MEMBERS, Consortium, _import_book

from gateway.bureau import MemberView
from gateway.bureau.directory import ConsortiumDirectory
from gateway.clock import system_clock
from gateway.config import Settings, default_policies_dir
from gateway.demo.provision import BUREAU_ID, NodePlan, provision_ca, provision_node
from gateway.identity.peer import Role
from gateway.identity.tls import TLSIdentity
from gateway.node.book_tokens import tokenise_book
from gateway.node.ceremony import run_ceremony
from gateway.node.runtime import oprf_key_folder, start_bureau, start_member
from gateway.node.session import member_session
from gateway.policy import PolicyDecisionPoint
from gateway.queries.subject_check.messages import CheckChunk, ChunkResult
from gateway.queries.subject_check.querier import SubjectCheckClient
from gateway.rpc.fanout import GrpcMemberCaller, MemberChannels
from gateway.store import open_store
from gateway.store.repositories.members import MemberDirectory
from gateway.tokens.oprf.client import blind, finalize
from gateway.tokens.oprf.keyring import OPRFKeyRing
from gateway.tokens.oprf.server import blind_evaluate
from gateway.tokens.subject import TokenType, token_input

# The shipped 5 s member deadline, raised as in tests/conftest.py (not a deadline test).
GENEROUS_DEADLINE = ("member_deadline_seconds = 5.0", "member_deadline_seconds = 60.0")

# Small enough that a test reaches them quickly, large enough for the fixture's books.
ADVERSARIAL_POLICY_EDITS = [
    GENEROUS_DEADLINE,
    ("max_per_relayer_per_day = 50", "max_per_relayer_per_day = 4"),
]


def copy_policies(folder: Path, edits: Iterable[tuple[str, str]]) -> Path:
    """The shipped policies with ``edits`` applied, witnesses co-signing every half second."""
    shutil.copytree(default_policies_dir(), folder)
    transparency = folder / "transparency.toml"
    text = transparency.read_text(encoding="utf-8")
    assert "checkpoint_seconds = 5.0" in text
    transparency.write_text(
        text.replace("checkpoint_seconds = 5.0", "checkpoint_seconds = 0.5"), encoding="utf-8"
    )
    path = folder / "subject_check.toml"
    text = path.read_text(encoding="utf-8")
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")
    return folder


@dataclass
class Tamper(grpc.ServerInterceptor):
    """The bureau's deviating hand on its own responses (off unless a test switches it on)."""

    shift_sums: bool = False
    seen: list[Any] = field(default_factory=list)

    def intercept_service(self, continuation: Callable[..., Any], details: grpc.HandlerCallDetails) -> Any:
        from gateway.rpc.interceptors.wrapping import rewrap

        handler = continuation(details)
        if not details.method.endswith("/SubjectCheck"):
            return handler

        def wrap(behaviour: Any, requests_stream: bool, responses_stream: bool) -> Any:
            def tampered(request: Any, context: grpc.ServicerContext) -> Any:
                for response in behaviour(request, context):
                    if self.shift_sums and response.masked_sums.values:
                        # Make a borrower look one listing worse: +1 in the last-but-one slot.
                        values = list(response.masked_sums.values)
                        values[-2] = (values[-2] + 1) % (2**61 - 1)
                        del response.masked_sums.values[:]
                        response.masked_sums.values.extend(values)
                    yield response

            return tampered

        return rewrap(handler, wrap)


@dataclass
class World(Consortium):
    """A consortium plus what the deviating bureau holds."""

    tamper: Tamper = field(default_factory=Tamper)
    authority: Any = None

    def bureau_router_purged_day_reset(self) -> None:
        """Make the bureau's next check its first of the day (as after midnight)."""
        for handler in self._bureau_handlers():
            router = getattr(handler, "subject_check", None)
            if router is not None:
                router._purged_day = None

    def _bureau_handlers(self) -> list[Any]:
        import gc

        from gateway.rpc.servicers.bureau import BureauHandlers

        return [o for o in gc.get_objects() if isinstance(o, BureauHandlers)]

    def bureau_identity(self) -> TLSIdentity:
        return TLSIdentity.from_settings(self.bureau.settings.tls)

    def bureau_caller(self) -> GrpcMemberCaller:
        """The bureau's own channel to members' MemberService (its certificate)."""
        from gateway.queries.subject_check.layout import VectorLayout
        from gateway.queries.subject_check.settings import SubjectCheckSettings

        layout = VectorLayout.from_settings(
            SubjectCheckSettings.from_directory(self.bureau.settings.policies_dir)
        )
        return GrpcMemberCaller(MemberChannels(self.bureau_identity(), egress=None), width=layout.width)

    def member_views(self) -> dict[str, MemberView]:
        store = open_store(self.bureau.settings.store_url)
        try:
            identity = self.bureau_identity()
            directory = ConsortiumDirectory(
                MemberDirectory(store),
                PolicyDecisionPoint.from_directory(
                    self.bureau.settings.policies_dir, node_id=BUREAU_ID, node_role=Role.BUREAU
                ),
                ca_certificate_pem=identity.ca_pem,
                revocations=identity.revocations,
            )
            return {view.member_id: view for view in directory.members()}
        finally:
            store.close()

    def token_as_the_bureau(self, resident_id: str) -> tuple[int, bytes]:
        """What the bureau computes alone: it holds the OPRF key, so any ID's token."""
        ring = OPRFKeyRing.load(oprf_key_folder(self.bureau.settings))
        inputs = [token_input(TokenType.RESIDENT_ID, resident_id, field="id")]
        batch = blind(inputs)
        key = ring.current
        return key.epoch, finalize(inputs, batch.blinds, blind_evaluate(key, batch.blinded_elements))[0]


class CapturingTransport:
    """A colluding querier's transport: it hands its chunks to the bureau instead of sending them."""

    def __init__(self) -> None:
        self.chunks: list[CheckChunk] = []

    def run(self, chunks: Iterable[CheckChunk]) -> Iterator[ChunkResult]:
        self.chunks.extend(chunks)
        return iter(())


def colluding_chunk(
    world: World, querier: str, resident_id: str, consent: str, reason: Any
) -> tuple[CheckChunk, bytes]:
    """A chunk the querier really made (authenticated), and its query seed, given to the bureau."""
    from gateway.queries.subject_check.querier import SubjectRequest

    transport = CapturingTransport()
    seeds: list[bytes] = []

    def remembered(n: int) -> bytes:
        import os

        value = os.urandom(n)
        if n == 32:
            seeds.append(value)
        return value

    with member_session(world.settings[querier]) as session:
        client = session.subject_checks()
        probe = SubjectCheckClient(
            me=session.identity.own,
            identity=session.identity,
            store=session.store,
            policy=session.policy,
            tokeniser=session.tokeniser,
            peers=session.pins(),
            secrets=session.secrets,
            transport=transport,
            settings=session.check_settings,
            clock=session.clock,
            audit=session.audit,
            random_bytes=remembered,
        )
        del client
        # The capturing transport returns no answer on purpose: the client then fails.
        with contextlib.suppress(Exception):
            probe.check_many([SubjectRequest(resident_id, consent)], reason)
    return transport.chunks[0], seeds[0]


@pytest.fixture(scope="package")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    import json

    from gateway.clock import local_date
    from gateway.synth import Composition, SynthOptions, generate_consortium, write_consortium

    root = tmp_path_factory.mktemp("adversarial")
    books = root / "books"
    options = SynthOptions(
        people=400,
        seed=5,
        composition=Composition(bank=3, consumer_finance=1, micro_lender=0, agency=1),
        as_of=local_date(system_clock()),
    )
    write_consortium(generate_consortium(options), books)
    truth = json.loads((books / "truth.json").read_text())
    policies = copy_policies(root / "policies", ADVERSARIAL_POLICY_EDITS)
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
    tamper = Tamper()
    bureau = start_bureau(provision(BUREAU_ID, Role.BUREAU), interceptors=[bureau_recorder, tamper])
    settings = {m: provision(m, role, bureau_address=bureau.address) for m, role in MEMBERS.items()}
    for member_id, member_settings in settings.items():
        _import_book(member_settings, books / member_id)
    recorders = {m: RecordingInterceptor() for m in settings}
    members = {m: start_member(s, interceptors=[recorders[m]]) for m, s in settings.items()}
    world = World(
        bureau, members, settings, truth, books, provision, bureau_recorder, recorders, tamper, authority
    )
    try:
        world.wait_online()
        with member_session(settings["bank-1"]) as session:
            _, delivered, failed = run_ceremony(session)
            assert (len(delivered), failed) == (len(MEMBERS) - 1, [])
        for member_settings in settings.values():
            with member_session(member_settings) as session:
                tokenise_book(session.store, session.tokeniser, now=system_clock())
        yield world
    finally:
        for node in world.members.values():
            node.stop()
        bureau.stop()


def fresh_time() -> dt.datetime:
    """The bureau's stamp for a request it makes up."""
    return system_clock()


def multi_lender(person: dict[str, Any]) -> bool:
    """A person with active debt at three or more members (so a row is worth stealing)."""
    return len({h["member_id"] for h in person["holdings"] if h["account_refs"]}) >= 3


class People:
    """Hands out a different consented person to each test (the bureau caches per day)."""

    def __init__(self, world: World) -> None:
        self._world = world
        self._used: set[str] = set()

    def take(
        self, querier: str, predicate: Callable[[dict[str, Any]], bool] = multi_lender
    ) -> tuple[dict[str, Any], str, Any]:
        for person in self._world.truth["people"]:
            if person["resident_id"] in self._used or not predicate(person):
                continue
            holding = next((h for h in person["holdings"] if h["member_id"] == querier), None)
            if holding is None:
                continue
            try:
                consent, reason = self._world.consent(querier, holding["borrower_ref"])
            except LookupError:
                continue
            self._used.add(person["resident_id"])
            return person, consent, reason
        raise LookupError("no unused consented person left")


@pytest.fixture(scope="package")
def people(world: World) -> People:
    return People(world)


def true_row(world: World, member_id: str, token: bytes, epoch: int, when: dt.datetime) -> Any:
    """A member's true row for a token, straight from its store (what must never leak)."""
    import numpy as np

    from gateway.queries.subject_check.layout import SEGMENTS
    from gateway.queries.subject_check.profile import ProfileQuery, SubjectProfiler
    from gateway.queries.subject_check.settings import SubjectCheckSettings

    settings = SubjectCheckSettings.from_directory(world.bureau.settings.policies_dir)
    store = open_store(world.settings[member_id].store_url)
    try:
        profiler = SubjectProfiler(store, role=MEMBERS[member_id], settings=settings)
        rows = profiler.rows(ProfileQuery([token], epoch, when, {s: s for s in SEGMENTS}))
        return np.asarray(rows[0], dtype=np.int64)
    finally:
        store.close()


def round_request(
    chunk: CheckChunk, member_id: str, *, attempt: int, participants: Iterable[str], when: dt.datetime
) -> Any:
    """The bureau's request to one participant, with the attempt and set the bureau chooses."""
    from gateway.aggregation import answering_set_hash
    from gateway.queries.subject_check.layout import SEGMENTS
    from gateway.queries.subject_check.messages import RoundRequest

    ordered = tuple(sorted(participants))
    sealed = next(s for s in chunk.sealed if s.recipient == member_id)
    return RoundRequest(
        query_time=when,
        layout_version=1,
        attempt=attempt,
        request_hash=chunk.request_hash(),
        answering_set_hash=answering_set_hash(ordered),
        participants=ordered,
        chunk_index=chunk.chunk_index,
        subject_count=chunk.subject_count,
        sealed=sealed,
        idempotency_key=chunk.idempotency_key,
        dedup_tags=chunk.dedup_tags,
        segment_map={s: s for s in SEGMENTS},
        secret_epoch=chunk.secret_epoch,
    )

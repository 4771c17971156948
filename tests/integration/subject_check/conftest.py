"""A whole consortium in-process on real mTLS sockets: bureau, three banks, a consumer-finance
company and an agency, each with its synthetic book imported and tokenised."""

from __future__ import annotations

import csv
import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gateway.clock import local_date, system_clock
from gateway.config import Settings, default_policies_dir
from gateway.demo.provision import BUREAU_ID
from gateway.identity.peer import Role
from gateway.ingest import run_import
from gateway.node.book_tokens import tokenise_book
from gateway.node.ceremony import run_ceremony
from gateway.node.runtime import RunningNode, start_bureau, start_member
from gateway.node.session import member_session
from gateway.queries.subject_check.answer import SubjectCheckAnswer, decode_answer
from gateway.queries.subject_check.layout import AnswerSegment, VectorLayout
from gateway.queries.subject_check.messages import Coverage
from gateway.queries.subject_check.profile import ProfileQuery, SubjectProfiler
from gateway.queries.subject_check.segments import merge_segments
from gateway.queries.subject_check.settings import SubjectCheckSettings
from gateway.store import open_store
from gateway.store.enums import RECORD_KINDS, ReasonCode
from gateway.store.repositories.consents import valid_consents as consents_valid_today
from gateway.synth import Composition, SynthOptions, generate_consortium, write_consortium

from ..recording import RecordingInterceptor

MEMBERS = {
    "bank-1": Role.BANK,
    "bank-2": Role.BANK,
    "bank-3": Role.BANK,
    "cfc-1": Role.CONSUMER_FINANCE,
    "agency-1": Role.AGENCY,
}


@dataclass
class Consortium:
    bureau: RunningNode
    members: dict[str, RunningNode]
    settings: dict[str, Settings]
    truth: dict[str, Any]
    folder: Path
    provision: Callable[..., Settings]
    bureau_recorder: RecordingInterceptor
    member_recorders: dict[str, RecordingInterceptor]

    def person(self, predicate: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        return next(p for p in self.truth["people"] if predicate(p))

    def consent(self, member_id: str, borrower_ref: str) -> tuple[str, ReasonCode]:
        """A consent reference the member holds for the borrower, and its purpose."""
        with (self.folder / member_id / "consents.csv").open(newline="") as handle:
            for row in csv.reader(handle):
                if borrower_ref in row:
                    return row[0], next(ReasonCode(v) for v in row if v in set(ReasonCode))
        raise LookupError(f"no consent for {borrower_ref} at {member_id}")

    def consented_person(
        self, member_id: str, predicate: Callable[[dict[str, Any]], bool]
    ) -> tuple[dict[str, Any], str, ReasonCode]:
        """A person held by ``member_id`` with a consent there, matching ``predicate``."""
        for person in self.truth["people"]:
            holding = next((h for h in person["holdings"] if h["member_id"] == member_id), None)
            if holding is None or not predicate(person):
                continue
            try:
                return (person, *self.consent(member_id, holding["borrower_ref"]))
            except LookupError:
                continue
        raise LookupError(f"no consented person at {member_id} matches")

    def wait_online(self, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        for node in self.members.values():
            assert node.link is not None
            assert node.link.registered.wait(max(0.1, deadline - time.monotonic()))
        time.sleep(0.3)  # one heartbeat with the blacklist count


def _import_book(settings: Settings, folder: Path) -> None:
    store = open_store(settings.store_url)
    try:
        for kind in RECORD_KINDS:
            run_import(store, kind, folder / f"{kind.value}.csv", folder / f"{kind.value}.mapping.toml")
    finally:
        store.close()


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    folder = tmp_path_factory.mktemp("consortium")
    composition = Composition(bank=3, consumer_finance=1, micro_lender=0, agency=1)
    options = SynthOptions(people=400, seed=5, composition=composition, as_of=local_date(system_clock()))
    write_consortium(generate_consortium(options), folder)
    return folder, json.loads((folder / "truth.json").read_text())


@pytest.fixture
def consortium(
    provision: Callable[..., Settings], synthetic: tuple[Path, dict[str, Any]]
) -> Iterator[Consortium]:
    folder, truth = synthetic
    bureau_recorder = RecordingInterceptor()
    bureau = start_bureau(
        provision(BUREAU_ID, Role.BUREAU, heartbeat_seconds=0.2), interceptors=[bureau_recorder]
    )
    settings = {
        m: provision(m, role, bureau_address=bureau.address, heartbeat_seconds=0.2)
        for m, role in MEMBERS.items()
    }
    for member_id, member_settings in settings.items():
        _import_book(member_settings, folder / member_id)
    recorders = {m: RecordingInterceptor() for m in settings}
    members = {m: start_member(s, interceptors=[recorders[m]]) for m, s in settings.items()}
    world = Consortium(bureau, members, settings, truth, folder, provision, bureau_recorder, recorders)
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
        for node in members.values():
            node.stop()
        bureau.stop()


def expected_answer(
    world: Consortium,
    querier: str,
    token: bytes,
    epoch: int,
    coverage: Coverage,
    *,
    excluded: tuple[str, ...] = (),
) -> SubjectCheckAnswer:
    """The answer computed from the other members' raw stores (what the masked protocol must equal)."""
    settings = SubjectCheckSettings.from_directory(default_policies_dir())
    others = {m: r for m, r in MEMBERS.items() if m != querier and m not in excluded}
    segment_map = merge_segments(
        Counter(AnswerSegment.of_role(r) for r in others.values()),
        minimum=settings.aggregation.min_members_per_segment,
    )
    now = system_clock()
    total = np.zeros(VectorLayout.from_settings(settings).width, dtype=np.int64)
    for member_id, role in others.items():
        store = open_store(world.settings[member_id].store_url)
        try:
            total += SubjectProfiler(store, role=role, settings=settings).rows(
                ProfileQuery([token], epoch, now, segment_map)
            )[0]
        finally:
            store.close()
    return decode_answer(total, settings=settings, coverage=coverage, segment_map=segment_map)


def valid_consents(world: Consortium, member_id: str, reason: ReasonCode) -> list[tuple[str, str]]:
    """``(resident_id, consent_ref)`` of every consent for ``reason`` the member holds, valid today."""
    store = open_store(world.settings[member_id].store_url)
    try:
        return consents_valid_today(store, reason, today=system_clock().date())
    finally:
        store.close()

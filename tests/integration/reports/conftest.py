"""The subject-check suite's in-process consortium (bureau, three banks, a consumer-finance
company and an agency on real mTLS sockets), plus a regulator with its own certificate."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pytest
import sqlalchemy as sa

from gateway.config import Settings, default_policies_dir
from gateway.identity.peer import Role
from gateway.node.session import member_session
from gateway.policy.contact_rules import ContactRules
from gateway.queries.reports.client import ReceivedReport, RegulatorClient
from gateway.reports.histograms import Counts, Period, active_borrowers, compute_histograms
from gateway.reports.templates import ReportTemplate
from gateway.store import open_store
from gateway.store.models import Borrower
from gateway.synth import Composition, SynthOptions, generate_consortium, write_consortium

from ..subject_check.conftest import MEMBERS, Consortium, consortium  # noqa: F401 - fixture

PERIOD = "2026-10"
RULES = ContactRules.from_directory(default_policies_dir())


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """A larger book than the subject-check suite's: enough borrowers for cells well above the noise."""
    folder = tmp_path_factory.mktemp("consortium")
    composition = Composition(bank=3, consumer_finance=1, micro_lender=0, agency=1)
    write_consortium(generate_consortium(SynthOptions(people=2500, seed=5, composition=composition)), folder)
    return folder, json.loads((folder / "truth.json").read_text())


@dataclass
class Regulator:
    settings: Settings
    world: Consortium

    def request(self, template_id: str, period: str = PERIOD) -> ReceivedReport:
        with member_session(self.settings) as session:
            return self.client(session.channel).request(template_id, period)

    def client(self, channel: grpc.Channel) -> RegulatorClient:
        return RegulatorClient(
            channel,
            regulator=self.settings.member_id,
            policies_dir=self.settings.policies_dir,
            data_dir=self.settings.data_dir,
        )


@pytest.fixture
def regulator(consortium: Consortium) -> Regulator:  # noqa: F811 - the imported fixture
    settings = consortium.provision("cbirc", Role.REGULATOR, bureau_address=consortium.bureau.address)
    return Regulator(settings, consortium)


def true_counts(
    world: Consortium,
    template: ReportTemplate,
    period: str = PERIOD,
    *,
    members: tuple[str, ...] | None = None,
) -> dict[str, Counts]:
    """The exact sums the noised release stands for, from the members' raw stores."""
    snapshot = Period.containing(dt.datetime.now(dt.UTC), template.zone)
    totals = {h.id: np.zeros(template.width(h), dtype=np.int64) for h in template.histograms}
    for member_id, role in MEMBERS.items():
        if members is not None and member_id not in members:
            continue
        store = open_store(world.settings[member_id].store_url)
        try:
            vectors = compute_histograms(
                store,
                template,
                Period.parse(period),
                role=role,
                snapshot_period=snapshot,
                contact_rules=RULES,
            )
        finally:
            store.close()
        for histogram_id, vector in vectors.items():
            totals[histogram_id] += vector
    return totals


def true_lender_counts(world: Consortium, template: ReportTemplate, period: str = PERIOD) -> Counts:
    """Borrowers with active debt by how many members hold them, joined on raw resident IDs."""
    snapshot = Period.containing(dt.datetime.now(dt.UTC), template.zone)
    holders: Counter[str] = Counter()
    for member_id in MEMBERS:
        store = open_store(world.settings[member_id].store_url)
        try:
            ids = active_borrowers(store, Period.parse(period), snapshot_period=snapshot)
            with store.transaction() as session:
                residents = set(session.scalars(sa.select(Borrower.resident_id).where(Borrower.id.in_(ids))))
        finally:
            store.close()
        holders.update(residents)
    dimension = template.dimensions["lender_count"]
    counts = np.zeros(len(dimension.cells), dtype=np.int64)
    for count in holders.values():
        counts[dimension.bucket(count)] += 1
    return counts


def stored_bytes(folder: Path) -> bytes:
    """Every file under ``folder`` concatenated (to search a node's whole disk footprint)."""
    return b"".join(path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file())


def as_json(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

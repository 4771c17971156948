"""The subject-check suite's in-process consortium (bureau, three banks, a consumer-finance
company and an agency on real mTLS sockets), plus a regulator with its own certificate."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gateway.clock import LOCAL_ZONE, local_date, system_clock
from gateway.config import Settings, default_policies_dir
from gateway.identity.peer import Role
from gateway.node.session import member_session
from gateway.policy.contact_rules import ContactRules
from gateway.queries.reports.client import ReceivedReport, RegulatorClient
from gateway.reports.exact import exact_counts
from gateway.reports.histograms import Counts, Period
from gateway.reports.templates import ReportTemplate
from gateway.synth import Composition, SynthOptions, generate_consortium, write_consortium

from ..subject_check.conftest import MEMBERS, Consortium, consortium  # noqa: F401 - fixture

# The last complete month before the session started, in Beijing: the synthetic books are
# generated as of today, so this month always lies inside their repayment history.
PERIOD = str(Period.containing(system_clock(), LOCAL_ZONE).before(1))
RULES = ContactRules.from_directory(default_policies_dir())


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """A larger book than the subject-check suite's: enough borrowers for cells well above the noise."""
    folder = tmp_path_factory.mktemp("consortium")
    composition = Composition(bank=3, consumer_finance=1, micro_lender=0, agency=1)
    options = SynthOptions(people=2500, seed=5, composition=composition, as_of=local_date(system_clock()))
    write_consortium(generate_consortium(options), folder)
    return folder, json.loads((folder / "truth.json").read_text())


@dataclass
class Regulator:
    settings: Settings
    world: Consortium

    def request(self, template_id: str, period: str = PERIOD) -> ReceivedReport:
        with member_session(self.settings) as session:
            return RegulatorClient.for_session(session).request(template_id, period)

    def forget_pending_orders(self) -> None:
        """Drop the orders kept for retries, so the next request is a new one."""
        for path in (self.settings.data_dir / "reports").glob("pending-orders*"):
            path.unlink()


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
    roles = {m: r for m, r in MEMBERS.items() if members is None or m in members}
    urls = {m: world.settings[m].store_url for m in roles}
    return exact_counts(roles, urls, template, Period.parse(period), contact_rules=RULES, now=system_clock())


def stored_bytes(folder: Path) -> bytes:
    """Every file under ``folder`` concatenated (to search a node's whole disk footprint)."""
    return b"".join(path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file())


def as_json(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@dataclass(frozen=True)
class Charge:
    """One charge on a member's privacy ledger, as the tests read it."""

    template_id: str
    rho: float
    refunded: bool


def charges(world: Consortium, member_id: str, regulator: str, period: str) -> list[Charge]:
    """The charges a member's ledger holds for ``regulator`` in ``period``."""
    from gateway.reports.budget import BUDGET_FILE, BudgetPolicy
    from gateway.reports.ledger import ReportLedger
    from gateway.store import open_store

    settings = world.settings[member_id]
    policy = BudgetPolicy.from_file(settings.policies_dir / BUDGET_FILE)
    store = open_store(settings.store_url)
    try:
        ledger = ReportLedger(store, policy, clock=system_clock)
        return [
            Charge(c.template_id, c.rho, c.refunded)
            for c in ledger.charges(regulator=regulator, period=period)
        ]
    finally:
        store.close()

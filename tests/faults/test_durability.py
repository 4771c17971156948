"""Acknowledged commits survive a crash (#17 item 6).

Before the fix SQLite ran ``synchronous=NORMAL`` in WAL mode: a commit reached the WAL in the
page cache only, so while the node held the database open (no checkpoint) an import reported
as done (exit 0), an inquiry record and a round seed were gone after the disk was cut.
The writer here keeps the store open as a running node does; the disk image is taken as a
power cut would leave it (``disks.LoopDisk.crash_image``) and mounted again.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from gateway.clock import local_date, system_clock
from gateway.demo.provision import NodePlan, provision_node
from gateway.identity.ca import CertificateAuthority
from gateway.identity.peer import Role
from gateway.reports.budget import BudgetPolicy
from gateway.reports.ledger import ReportLedger
from gateway.store import open_store
from gateway.store.enums import ImportKind
from gateway.store.models import Borrower, CheckRound, ImportBatch, Inquiry
from gateway.store.repositories.audit import AuditLog
from gateway.synth import Composition, SynthOptions, generate_consortium, write_consortium

from .conftest import credgate
from .disks import loop_disk, mounted_image

pytestmark = [pytest.mark.processes, pytest.mark.slow]

# Holds the store open like a running node (so nothing is checkpointed at close), commits an
# audit entry, an inquiry, a round seed and a budget charge, says "acknowledged", then waits.
HOLDER = r"""
import sys
from gateway.clock import system_clock
import datetime as dt
from gateway.identity.peer import Peer
from gateway.reports.budget import BudgetPolicy
from gateway.reports.ledger import PhaseRules, ReportLedger, ShareIdentity
from gateway.reports.order import ReportOrder, SignedOrder, VerifiedOrder
from gateway.roles import Role
from gateway.store import open_store
from gateway.store.enums import AuditDecision, ReasonCode
from gateway.store.repositories.audit import AuditLog
from gateway.store.repositories.checks import CheckRounds
from gateway.store.repositories.inquiries import InquiryRow, record_inquiries

store_url, data_dir, policies = sys.argv[1:4]
store = open_store(store_url)
print("open", flush=True)
sys.stdin.readline()
now = system_clock()
AuditLog(store).append(actor_member_id="bank-1", actor_role="bank", action="durability.probe",
    resource="-", decision=AuditDecision.ALLOW, reason="probe", correlation_id="c-1", details={}, at=now)
record_inquiries(store, [InquiryRow("q-durable", b"t" * 32, 1, ReasonCode.LOAN_APPROVAL, "AUTH-1", now)])
CheckRounds(store).remember(b"h" * 32, b"s" * 32, at=now)
from pathlib import Path
budget = BudgetPolicy.from_file(Path(policies) / "privacy_budget.toml")
ledger = ReportLedger(store, budget, clock=system_clock)
order = ReportOrder("monthly-risk", "2000-01", b"n" * 16)
regulator = Peer("regulator", Role.REGULATOR, 7, "ab" * 32, now + dt.timedelta(days=30))
verified = VerifiedOrder(order, regulator, SignedOrder(order, b"sig", b"cert"))
members = ("bank-1", "bank-2", "bank-3")
for phase, rho in ((3, 0.0), (1, 0.01)):  # phase 3 (holders count) is opened before phase 1
    share = ShareIdentity(b"r" * 32, 1, phase, 1, members, b"s" * 32, bytes([phase]) * 32)
    ledger.record(verified, share, PhaseRules(3, rho), b"share")
    if phase == 3:
        ledger.open(b"r" * 32, 3, 1, b"s" * 32)
print("acknowledged", flush=True)
sys.stdin.readline()
"""


def test_acknowledged_commits_survive_a_power_cut(
    authority: CertificateAuthority, policies_dir: Path, tmp_path: Path
) -> None:
    with loop_disk(tmp_path) as disk:
        plan = NodePlan("bank-1", Role.BANK, disk.mount / "bank-1")
        plan.directory.mkdir()
        settings = provision_node(
            authority, plan, bureau_address="127.0.0.1:1", heartbeat_seconds=1, now=system_clock(),
            policies_dir=policies_dir,
        )  # fmt: skip
        book = tmp_path / "book"
        options = SynthOptions(
            people=80, seed=3, composition=Composition(bank=3, consumer_finance=0, micro_lender=0, agency=0),
            as_of=local_date(system_clock()),
        )  # fmt: skip
        write_consortium(generate_consortium(options), book)
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLDER, settings.store_url, str(settings.data_dir), str(policies_dir)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            assert holder.stdout is not None and holder.stdin is not None
            assert holder.stdout.readline().strip() == "open"
            imports = [
                credgate(
                    "import",
                    kind.value,
                    str(book / "bank-1" / f"{kind.value}.csv"),
                    "--mapping",
                    str(book / "bank-1" / f"{kind.value}.mapping.toml"),
                    "--config",
                    str(plan.config_path),
                )
                for kind in (ImportKind.BORROWERS, ImportKind.ACCOUNTS)
            ]
            holder.stdin.write("go\n")
            holder.stdin.flush()
            assert holder.stdout.readline().strip() == "acknowledged"
            crash = disk.crash_image(tmp_path / "crash.img")
        finally:
            holder.kill()
            holder.wait(30)
        acknowledged = _contents(settings.store_url)

    assert [i.returncode for i in imports] == [0, 0], [i.stderr for i in imports]
    with mounted_image(crash, tmp_path / "after") as after:
        survived = _contents(f"sqlite:///{after / 'bank-1' / 'data' / 'store.db'}")
        crashed = open_store(f"sqlite:///{after / 'bank-1' / 'data' / 'store.db'}")
        try:
            ledger = ReportLedger(
                crashed, BudgetPolicy.from_file(policies_dir / "privacy_budget.toml"), clock=system_clock
            )
            charged = ledger.spent("2000-01", regulator="regulator")
        finally:
            crashed.close()

    assert survived == acknowledged
    assert survived["borrowers"] > 0 and survived["import_batches"] == 2
    assert (survived["inquiry"], survived["seed"], survived["probe"]) == (1, 1, 1)
    assert charged == pytest.approx(0.01)


def _contents(url: str) -> dict[str, int]:
    store = open_store(url)
    try:
        with store.transaction() as session:
            counts = {
                "borrowers": session.scalar(sa.select(sa.func.count()).select_from(Borrower)) or 0,
                "import_batches": session.scalar(sa.select(sa.func.count()).select_from(ImportBatch)) or 0,
                "inquiry": session.scalar(
                    sa.select(sa.func.count()).select_from(Inquiry).where(Inquiry.query_id == "q-durable")
                ) or 0,
                "seed": session.scalar(
                    sa.select(sa.func.count()).select_from(CheckRound).where(
                        CheckRound.request_hash == b"h" * 32
                    )
                ) or 0,
            }  # fmt: skip
        counts["probe"] = sum(1 for e in AuditLog(store).entries() if e.action == "durability.probe")
        AuditLog(store).verify_chain()
        return counts
    finally:
        store.close()

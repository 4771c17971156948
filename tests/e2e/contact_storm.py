"""The contact storm: agencies racing for the same debtors' slots, with a bureau crash in the middle.

A bureau process and one agency process per agency (``contact_storm_worker``) run on loopback
with mTLS; a lender (in this process) entrusts every debtor to every agency and hands each its
signed grants. Every process runs on a clock moved (``UnsafeOffsetClock``, test only) to 10:00
local time on the day after today, ticking normally from there, so the storm never depends on
the hour it is run at.

Phase A (daytime): every agency works through the same debtors in the same order, several
threads each, so the agencies race for every debtor's last slot. When part of the work is done
the bureau is killed (SIGKILL) and restarted on the same port; the agencies' dialer library
retries with the same idempotency keys.

Phase B (evening): once the agencies are ready, the bureau is restarted at 21:59:50 local on the
same day and the agencies keep dialling fresh debtors until 22:00:15, so the quiet hours begin
under load.

The verification is made from what the agencies logged (what they were told and what they did)
against what the bureau stored.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from gateway.cli.nodes import UNSAFE_CLOCK_OFFSET_ENV
from gateway.clock import LOCAL_ZONE, local_date, system_clock
from gateway.config import Settings, default_policies_dir
from gateway.contact.entrustments import import_grants, issue_grants
from gateway.demo.processes import NodeProcess
from gateway.demo.provision import BUREAU_ID, NodePlan, provision_ca, provision_node
from gateway.identity.ca import CertificateAuthority
from gateway.identity.peer import Role
from gateway.node.book_tokens import tokenise_book
from gateway.node.session import member_session
from gateway.policy.contact_rules import ContactRules
from gateway.store.database import open_store
from gateway.store.enums import ClearanceDecision, ContactChannel
from gateway.store.models import ContactRequestRecord, ContactReservation
from gateway.store.repositories.contact_member import Entrustments

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))
from contact_book import BookPerson, load_book, people  # noqa: E402
from members_ceremony import hand_out_members_secret, quick_checkpoints  # noqa: E402

LENDER = "bank-1"
PHASE_B_START = dt.time(21, 59, 50)
PHASE_B_UNTIL = dt.time(22, 0, 15)


@dataclass(frozen=True)
class StormSize:
    """How big a storm is."""

    agencies: int = 5
    debtors: int = 1000
    attempts: int = 1
    threads: int = 4
    connect_probability: float = 0.7
    restart_at_fraction: float = 0.4
    evening_debtors: int = 100
    evening: bool = True


@dataclass
class PhaseFigures:
    clears: int = 0
    granted: int = 0
    refusals: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    retried_after_restart: int = 0


@dataclass
class StormResult:
    """What the storm did and what the verification found (every violation count should be 0)."""

    size: StormSize
    daytime: PhaseFigures
    evening: PhaseFigures
    connected_over_cap: int
    unanswered_over_cap: int
    quiet_grants: int
    quiet_calls: int
    lost_reservations: int
    phantom_reservations: int
    unsettled_reservations: int
    double_counted: int
    refusals_without_reason: int
    answers_not_as_stored: int
    clears_before_restart: int
    clears_after_restart: int
    errors: int

    @property
    def grants_per_second(self) -> float:
        return self.daytime.granted / self.daytime.seconds if self.daytime.seconds else 0.0

    @property
    def clears_per_second(self) -> float:
        return self.daytime.clears / self.daytime.seconds if self.daytime.seconds else 0.0


def offset_to(target: dt.datetime) -> int:
    """Seconds to add to the system clock for a process's clock to read ``target`` now."""
    return int((target - system_clock()).total_seconds())


def moved_clock_environment(offset: int) -> dict[str, str]:
    """Environment of a bureau process whose clock is moved by ``offset`` (test only)."""
    return {UNSAFE_CLOCK_OFFSET_ENV: str(offset), "PYTHONPATH": str(REPO)}


class StormWorld:
    """The provisioned storm: CA, bureau configuration, lender and agency stores."""

    def __init__(self, folder: Path, size: StormSize) -> None:
        self.folder = folder
        self.size = size
        self.day = local_date(system_clock()) + dt.timedelta(days=1)
        self.authority: CertificateAuthority = provision_ca(folder / "ca", now=system_clock())
        self.policies = folder / "policies"
        shutil.copytree(default_policies_dir(), self.policies)
        quick_checkpoints(self.policies)
        self.rules = ContactRules.from_directory(self.policies)
        self.persons = people(size.debtors + size.evening_debtors, seed=11)
        self.agencies = [f"agency-{n + 1}" for n in range(size.agencies)]
        self.bureau_settings = self._provision(BUREAU_ID, Role.BUREAU, None)
        self.bureau_config = self.bureau_settings.data_dir.parent / "node.toml"
        self.bureau: NodeProcess | None = None
        self.address = ""

    def _provision(self, member_id: str, role: Role, bureau_address: str | None) -> Settings:
        plan = NodePlan(member_id, role, self.folder / "nodes" / member_id)
        plan.directory.mkdir(parents=True)
        return provision_node(
            self.authority,
            plan,
            bureau_address=bureau_address,
            heartbeat_seconds=1.0,
            now=system_clock(),
            policies_dir=self.policies,
        )

    def local(self, time_of_day: dt.time) -> dt.datetime:
        return dt.datetime.combine(self.day, time_of_day, tzinfo=LOCAL_ZONE)

    # --- bureau -------------------------------------------------------------------------------

    def start_bureau(self, offset: int) -> None:
        process = NodeProcess.for_config(
            BUREAU_ID,
            self.bureau_config,
            self.bureau_settings.data_dir,
            self.folder / "logs" / "bureau.log",
            bureau=True,
        )
        process.environment.update(moved_clock_environment(offset))
        process.start()
        self.address = process.wait_ready()
        self.bureau = process
        # Restarts listen on the same port, where the agencies' channels reconnect.
        text = self.bureau_config.read_text()
        self.bureau_config.write_text(text.replace('listen = "127.0.0.1:0"', f'listen = "{self.address}"'))

    def kill_bureau(self) -> None:
        assert self.bureau is not None and self.bureau.process is not None
        self.bureau.process.send_signal(signal.SIGKILL)
        self.bureau.process.wait()
        self.bureau.stop()

    def restart_bureau(self) -> None:
        assert self.bureau is not None
        self.bureau.start()
        self.bureau.wait_ready()

    def stop_bureau(self) -> int:
        assert self.bureau is not None
        return self.bureau.stop()

    # --- books and grants ---------------------------------------------------------------------

    def prepare_members(self) -> dict[str, Settings]:
        """Hand out the members' secret, load the books, entrust every debtor to every agency, grant."""
        lender = self._provision(LENDER, Role.BANK, self.address)
        agencies = {a: self._provision(a, Role.AGENCY, self.address) for a in self.agencies}
        # The members' secret that keys the contact tags: the real ceremony (issue #11).
        hand_out_members_secret([lender, *agencies.values()])
        with member_session(lender) as session:
            load_book(session.store, LENDER, self.persons, now=system_clock())
            tokenise_book(session.store, session.tokeniser, now=system_clock())
            registry = Entrustments(session.store)
            for agency in self.agencies:
                for person in self.persons:
                    registry.entrust(
                        person.account_ref(LENDER),
                        agency=agency,
                        starts_on=self.day,
                        expires_on=self.day + dt.timedelta(days=30),
                        channels=[ContactChannel.PHONE, ContactChannel.AI_VOICE],
                        third_party_allowed=False,
                    )
            grants = {
                agency: issue_grants(
                    session.store,
                    session.identity.own,
                    agency=agency,
                    days=[self.day],
                    day_keys=session.day_keys,
                    tokeniser=session.tokeniser,
                    certificate_pem=session.identity.cert_pem,
                    key_pem=session.identity.key_pem,
                    now=system_clock(),
                )
                for agency in self.agencies
            }
        for agency, settings in agencies.items():
            with member_session(settings) as session:
                load_book(
                    session.store,
                    agency,
                    self.persons,
                    now=system_clock(),
                    entrusted_by=LENDER,
                    entrustment_expires_on=self.day + dt.timedelta(days=30),
                )
                tokenise_book(session.store, session.tokeniser, now=system_clock())
                import_grants(
                    session.store,
                    session.identity.own,
                    grants[agency],
                    ca_certificate_pem=session.identity.ca_pem,
                    now=system_clock(),
                )
        return agencies

    # --- workers ----------------------------------------------------------------------------

    def run_workers(
        self,
        agencies: dict[str, Settings],
        phase: str,
        persons: list[BookPerson],
        *,
        start: Callable[[], int],
        until_local: dt.time | None,
        restart_after: int | None,
        prepare_numbers: bool,
    ) -> tuple[PhaseFigures, float | None]:
        """Run one worker per agency over ``persons``; optionally crash the bureau mid-way.

        ``start`` is called once every worker is ready; it returns the offset of the bureau's
        clock, which the workers' clocks follow from then on.
        """
        folder = self.folder / phase
        folder.mkdir()
        go = folder / "go"
        processes: list[tuple[subprocess.Popen[bytes], Path]] = []
        environment = {**os.environ, "PYTHONPATH": str(REPO)}
        for number, (agency, settings) in enumerate(agencies.items()):
            plan = {
                "accounts": [p.account_ref(agency) for p in persons],
                "numbers": [p.mobile for p in persons],
                "attempts": self.size.attempts,
                "threads": self.size.threads,
                "seed": 1000 * number + len(phase),
                "connect_probability": self.size.connect_probability,
                "retry_seconds": 120.0,
                "until_local": until_local.isoformat() if until_local else None,
                "prepare_numbers": prepare_numbers,
            }
            (folder / f"{agency}.plan.json").write_text(json.dumps(plan))
            log = folder / f"{agency}.jsonl"
            command = [
                sys.executable, "-m", "tests.e2e.contact_storm_worker",
                "--config", str(settings.data_dir.parent / "node.toml"),
                "--plan", str(folder / f"{agency}.plan.json"),
                "--log", str(log),
                "--go", str(go),
                "--ready", str(folder / f"{agency}.ready"),
            ]  # fmt: skip
            output = (folder / f"{agency}.out").open("wb")
            processes.append(
                (
                    subprocess.Popen(
                        command, cwd=REPO, env=environment, stdout=output, stderr=subprocess.STDOUT
                    ),
                    log,
                )
            )
        deadline = time.monotonic() + 300
        while not all((folder / f"{a}.ready").exists() for a in agencies):
            if time.monotonic() > deadline or any(p.poll() is not None for p, _ in processes):
                raise RuntimeError(f"storm workers did not get ready: see {folder}")
            time.sleep(0.1)
        offset = start()
        started = time.monotonic()
        temporary = folder / "go.tmp"
        temporary.write_text(str(offset))
        temporary.replace(go)
        restart_wall: float | None = None
        while any(p.poll() is None for p, _ in processes):
            if (
                restart_after is not None
                and restart_wall is None
                and _lines(log for _, log in processes) >= restart_after
            ):
                self.kill_bureau()
                # When the crash happened, on the processes' (moved) clock.
                restart_wall = system_clock().timestamp() + offset
                self.restart_bureau()
            if time.monotonic() - started > 900:
                for process, _ in processes:
                    process.kill()
                raise RuntimeError("storm workers did not finish in 15 minutes")
            time.sleep(0.05)
        codes = [p.returncode for p, _ in processes]
        if any(codes):
            raise RuntimeError(f"storm workers exited with {codes}: see {folder}")
        figures = PhaseFigures(seconds=time.monotonic() - started)
        return figures, restart_wall


def _lines(paths: Any) -> int:
    total = 0
    for path in paths:
        if path.exists():
            with path.open("rb") as handle:
                total += sum(1 for _ in handle)
    return total


def run_storm(folder: Path, size: StormSize) -> StormResult:
    """Run both phases and verify them."""
    world = StormWorld(folder, size)
    daytime_offset = offset_to(world.local(dt.time(10)))
    world.start_bureau(daytime_offset)
    try:
        agencies = world.prepare_members()
        daytime_persons = world.persons[: size.debtors]
        expected_lines = size.agencies * size.debtors * size.attempts * 2
        daytime, restart_wall = world.run_workers(
            agencies,
            "daytime",
            daytime_persons,
            start=lambda: daytime_offset,
            until_local=None,
            restart_after=int(expected_lines * size.restart_at_fraction),
            prepare_numbers=True,
        )
        evening = PhaseFigures()
        if size.evening:
            world.stop_bureau()

            def evening_bureau() -> int:
                offset = offset_to(world.local(PHASE_B_START))
                world.start_bureau(offset)
                return offset

            evening, _ = world.run_workers(
                agencies,
                "evening",
                world.persons[size.debtors :],
                start=evening_bureau,
                until_local=PHASE_B_UNTIL,
                restart_after=None,
                prepare_numbers=False,
            )
    finally:
        world.stop_bureau()
    return verify(world, daytime, evening, restart_wall)


def verify(
    world: StormWorld, daytime: PhaseFigures, evening: PhaseFigures, restart_wall: float | None
) -> StormResult:
    """Compare what the agencies logged with what the bureau stored."""
    rules = world.rules
    entries: list[tuple[str, str, dict[str, Any]]] = []
    for phase in ("daytime", "evening"):
        for log in sorted((world.folder / phase).glob("*.jsonl")) if (world.folder / phase).exists() else []:
            agency = log.name.removesuffix(".jsonl")
            entries += [(phase, agency, json.loads(line)) for line in log.read_text().splitlines()]
    store = open_store(world.bureau_settings.store_url)
    try:
        with store.transaction() as session:
            reservations = {r.reservation_id.hex(): r for r in session.scalars(sa.select(ContactReservation))}
            requests = {
                (r.requester_member_id, r.idempotency_key.hex()): r.decision
                for r in session.scalars(sa.select(ContactRequestRecord))
            }
    finally:
        store.close()

    clears = [(p, a, e) for p, a, e in entries if e["op"] == "clear"]
    granted = {e["reservation"]: (a, e["person"], p) for p, a, e in clears if e["decision"] == "granted"}
    records = [e for _, _, e in entries if e["op"] == "record"]
    releases = [e for _, _, e in entries if e["op"] == "release"]
    figures = {"daytime": daytime, "evening": evening}
    for phase, _, entry in clears:
        figures[phase].clears += 1
        if entry["decision"] == "granted":
            figures[phase].granted += 1
        else:
            figures[phase].refusals[entry["decision"]] += 1
        if restart_wall is not None and phase == "daytime" and entry["replayed"]:
            figures[phase].retried_after_restart += 1

    connected: Counter[tuple[str, int]] = Counter()
    unanswered: Counter[tuple[str, int]] = Counter()
    quiet_calls = 0
    for entry in records:
        phase = granted[entry["reservation"]][2]
        key = (phase, entry["person"])
        (connected if entry["connected"] else unanswered)[key] += 1
        if rules.quiet_at(dt.datetime.fromisoformat(entry["attempted_at"])):
            quiet_calls += 1
    # Evening debtors are other people than daytime ones, so a (phase, person) pair is one debtor-day.
    cap, number_cap = rules.connected_calls_per_debtor_per_day, rules.unanswered_attempts_per_number_per_day
    quiet_grants = sum(
        1
        for r in reservations.values()
        if rules.quiet_at(r.granted_at) or r.expires_at > rules.quiet_starts_after(r.granted_at)
    )
    settled_by_agency = {e["reservation"]: ("connected" if e["connected"] else "unanswered") for e in records}
    settled_by_agency.update({e["reservation"]: "released" for e in releases})
    double = sum(
        1
        for rid, state in settled_by_agency.items()
        if rid in reservations and reservations[rid].state.value != state
    )
    bureau_connected: Counter[tuple[str, int]] = Counter()
    for rid, (_, person, phase) in granted.items():
        if rid in reservations and reservations[rid].state.value == "connected":
            bureau_connected[(phase, person)] += 1
    double += sum(
        1 for key in set(bureau_connected) | set(connected) if bureau_connected[key] != connected[key]
    )
    known = set(ClearanceDecision) - {ClearanceDecision.GRANTED}
    before = after = 0
    for phase, _, entry in clears:
        if phase == "daytime" and restart_wall is not None:
            at = dt.datetime.fromisoformat(entry["at"]).timestamp()
            before += 1 if at < restart_wall else 0
            after += 1 if at >= restart_wall else 0
    return StormResult(
        size=world.size,
        daytime=daytime,
        evening=evening,
        connected_over_cap=sum(1 for n in connected.values() if n > cap),
        unanswered_over_cap=sum(1 for n in unanswered.values() if n > number_cap),
        quiet_grants=quiet_grants,
        quiet_calls=quiet_calls,
        lost_reservations=len(set(granted) - set(reservations)),
        phantom_reservations=len(set(reservations) - set(granted)),
        unsettled_reservations=sum(1 for rid in granted if rid not in settled_by_agency),
        double_counted=double,
        refusals_without_reason=sum(
            1
            for _, _, e in clears
            if e["decision"] != "granted" and ClearanceDecision(e["decision"]) not in known
        ),
        answers_not_as_stored=sum(
            1 for _, a, e in clears if requests.get((a, e["key"])) != ClearanceDecision(e["decision"])
        ),
        clears_before_restart=before,
        clears_after_restart=after,
        errors=sum(1 for _, _, e in entries if e["op"] == "error"),
    )

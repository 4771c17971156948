"""``credgate demo``: provision, generate, start, import, show, query, stop — on loopback.

Each step prints one line with its duration. Later features (subject checks,
contact clearance, reports, training) add steps to ``gateway.demo.steps.QUERY_STEPS``.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from gateway.bureau import MemberView
from gateway.config import Settings
from gateway.demo.consortium import RunningConsortium, node_process
from gateway.demo.context import DemoContext
from gateway.demo.provision import BUREAU_ID, NodePlan, provision_ca, provision_node
from gateway.demo.steps import QUERY_STEPS
from gateway.errors import GatewayError, InvalidInputError
from gateway.identity.ca import CertificateAuthority
from gateway.identity.peer import Role
from gateway.ingest.runner import ImportSummary, run_import
from gateway.node.doctor import Severity, diagnose
from gateway.store.database import open_store
from gateway.store.enums import AuditDecision, ImportKind
from gateway.store.repositories.audit import AuditLog
from gateway.synth.consortium import ConsortiumResult, SynthOptions, generate_consortium
from gateway.synth.members import Composition
from gateway.synth.writer import write_consortium

MARKER = ".credgate-demo"
HEARTBEAT_SECONDS = 1.0
DEMO_COMPOSITION = Composition(bank=3, consumer_finance=1, micro_lender=0, agency=1)


@dataclass(frozen=True)
class DemoOutcome:
    """Where the demo left its outputs and how long it took."""

    workdir: Path
    summary_path: Path
    seconds: float
    exit_codes: dict[str, int]


def run_demo(workdir: Path, *, people: int, seed: int, console: Console) -> DemoOutcome:
    """Run the whole demonstration in ``workdir`` (recreated) and stop every process it started.

    Raises
    ------
    GatewayError
        When a step fails; every started process is stopped first.

    """
    started = time.monotonic()
    _prepare(workdir)
    now = dt.datetime.now(dt.UTC)
    with _step(console, "consortium CA"):
        authority = provision_ca(workdir / "ca", now=now)
    with _step(console, f"synthetic consortium: {people} people, seed {seed}"):
        synthetic = generate_consortium(SynthOptions(people=people, seed=seed, composition=DEMO_COMPOSITION))
        write_consortium(synthetic, workdir / "consortium")
    bureau_settings = provision_node(
        authority,
        NodePlan(BUREAU_ID, Role.BUREAU, _node_dir(workdir, BUREAU_ID)),
        bureau_address=None,
        heartbeat_seconds=HEARTBEAT_SECONDS,
        now=now,
    )
    logs = workdir / "logs"
    consortium = RunningConsortium(
        bureau_settings, node_process(bureau_settings, _config(workdir, BUREAU_ID), logs, bureau=True)
    )
    try:
        with _step(console, "bureau process started"):
            consortium.bureau.start()
            consortium.bureau_address = consortium.bureau.wait_ready()
        members = _provision_members(authority, synthetic, workdir, consortium.bureau_address, now)
        context = DemoContext(workdir, console, consortium, members)
        _import_books(context, synthetic)
        with _step(console, f"{len(members)} member processes started and registered"):
            for settings in members.values():
                process = node_process(settings, _config(workdir, settings.member_id), logs, bureau=False)
                consortium.members.append(process)
                process.start()
            for process in consortium.members:
                process.wait_ready()
            views = consortium.wait_registered()
        _show_status(console, views)
        _run_doctor(context, next(iter(members)))
        _show_audit(context)
        for title, query in QUERY_STEPS:
            with _step(console, title):
                query(context)
    finally:
        with _step(console, "all processes stopped (SIGTERM)"):
            exit_codes = consortium.stop()
    failed = {member: code for member, code in exit_codes.items() if code != 0}
    if failed:
        raise GatewayError(f"processes did not stop cleanly: {failed}; see {logs}")
    seconds = time.monotonic() - started
    summary_path = _write_summary(context, exit_codes, seconds)
    return DemoOutcome(workdir, summary_path, seconds, exit_codes)


def _prepare(workdir: Path) -> None:
    if workdir.exists():
        if not (workdir / MARKER).exists():
            raise InvalidInputError(
                f"{workdir} exists and is not a demo folder; choose another --workdir", field="workdir"
            )
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    (workdir / MARKER).write_text("created by credgate demo; removed by the next run\n", encoding="utf-8")


def _node_dir(workdir: Path, member_id: str) -> Path:
    path = workdir / "nodes" / member_id
    path.mkdir(parents=True, exist_ok=True)
    return path


def _config(workdir: Path, member_id: str) -> Path:
    return NodePlan(member_id, Role.BANK, _node_dir(workdir, member_id)).config_path


def _provision_members(
    authority: CertificateAuthority,
    synthetic: ConsortiumResult,
    workdir: Path,
    bureau_address: str,
    now: dt.datetime,
) -> dict[str, Settings]:
    members: dict[str, Settings] = {}
    for data in synthetic.members:
        member = data.member
        plan = NodePlan(member.member_id, member.role, _node_dir(workdir, member.member_id))
        members[member.member_id] = provision_node(
            authority, plan, bureau_address=bureau_address, heartbeat_seconds=HEARTBEAT_SECONDS, now=now
        )
    return members


def _import_books(context: DemoContext, synthetic: ConsortiumResult) -> None:
    table = Table(
        "member",
        "kind",
        "read",
        "imported",
        "quarantined",
        "duplicates",
        title="loan books imported into each member's own store",
    )
    summaries: list[ImportSummary] = []
    with _step(context.console, "member books imported"):
        for member_id, settings in context.member_settings.items():
            store = open_store(settings.store_url)
            try:
                folder = context.workdir / "consortium" / member_id
                for kind in ImportKind:
                    summary = run_import(
                        store, kind, folder / f"{kind.value}.csv", folder / f"{kind.value}.mapping.toml"
                    )
                    summaries.append(summary)
                    table.add_row(
                        member_id,
                        kind.value,
                        str(summary.rows_read),
                        str(summary.rows_imported),
                        str(summary.rows_quarantined),
                        str(summary.rows_duplicate),
                    )
            finally:
                store.close()
    context.console.print(table)
    context.results["imported_rows"] = sum(s.rows_imported for s in summaries)
    context.results["quarantined_rows"] = sum(s.rows_quarantined for s in summaries)
    context.results["multi_lender_share"] = round(synthetic.multi_lender_share, 4)


def _show_status(console: Console, views: list[MemberView]) -> None:
    table = Table(
        "member",
        "role",
        "address",
        "software",
        "last seen (UTC)",
        title="consortium directory (bureau operator's view)",
    )
    for view in views:
        seen = f"{view.last_seen_at:%H:%M:%S}" if view.last_seen_at else "-"
        table.add_row(view.member_id, view.role.value, view.address, view.software_version, seen)
    console.print(table)


def _run_doctor(context: DemoContext, member_id: str) -> None:
    config = _config(context.workdir, member_id)
    findings = list(diagnose(config, now=lambda: dt.datetime.now(dt.UTC)))
    for finding in findings:
        context.console.print(
            f"  doctor {member_id} {finding.severity.value:>4} {finding.check}: {finding.message}"
        )
    if any(finding.severity is Severity.FAIL for finding in findings):
        raise GatewayError(f"credgate doctor found problems on {member_id}")


def _show_audit(context: DemoContext) -> None:
    settings = context.consortium.bureau_settings
    store = open_store(settings.store_url)
    try:
        log = AuditLog(store)
        log.verify_chain()
        entries = log.entries()
    finally:
        store.close()
    allowed = sum(1 for entry in entries if entry.decision is AuditDecision.ALLOW)
    context.results["bureau_audit_entries"] = len(entries)
    context.console.print(
        f"  bureau audit log: {len(entries)} decisions ({allowed} allowed), hash chain verified"
    )


def _write_summary(context: DemoContext, exit_codes: dict[str, int], seconds: float) -> Path:
    path = context.workdir / "demo-summary.json"
    payload = {
        "seconds": round(seconds, 1),
        "exit_codes": exit_codes,
        "results": context.results,
        "members": sorted(context.member_settings),
    }
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")
    return path


@contextmanager
def _step(console: Console, title: str) -> Iterator[None]:
    started = time.monotonic()
    yield
    console.print(f"[green]✓[/] {title} [dim]({time.monotonic() - started:.1f} s)[/]")

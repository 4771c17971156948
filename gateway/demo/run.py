"""``credgate demo``: provision, generate, start, import, show, query, stop — on loopback.

Each step prints one line with its duration. Later features (subject checks,
contact clearance, reports, training) add steps to ``gateway.demo.steps.QUERY_STEPS``.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from gateway.bureau import MemberView
from gateway.demo.context import DemoContext
from gateway.demo.launch import launched_consortium, step
from gateway.demo.provision import CONFIG_FILE
from gateway.demo.steps import QUERY_STEPS
from gateway.errors import GatewayError
from gateway.node.doctor import Severity, diagnose
from gateway.store.database import open_store
from gateway.store.enums import AuditDecision
from gateway.store.repositories.audit import AuditLog
from gateway.synth.members import Composition

DEMO_COMPOSITION = Composition(bank=3, consumer_finance=1, micro_lender=0, agency=1)


@dataclass(frozen=True)
class DemoOutcome:
    """Where the demo left its outputs and how long it took."""

    workdir: Path
    summary_path: Path
    seconds: float
    exit_codes: dict[str, int]


def run_demo(
    workdir: Path,
    *,
    people: int,
    seed: int,
    console: Console,
    federated: bool = True,
    book: str = "uci",
    split: str = "segment",
    book_rows: int | None = None,
) -> DemoOutcome:
    """Run the whole demonstration in ``workdir`` (recreated) and stop every process it started.

    Raises
    ------
    GatewayError
        When a step fails; every started process is stopped first.

    With ``federated`` (the default) the nodes also run their Flower parts and the demo
    trains the shared model, which takes a few minutes more (SecAgg+ over the deployment
    engine polls every few seconds).

    """
    started = time.monotonic()
    with launched_consortium(
        workdir,
        people=people,
        seed=seed,
        composition=DEMO_COMPOSITION,
        console=console,
        federated=federated,
        book=book,
        split=split,
        book_rows=book_rows,
    ) as (context, views):
        _show_status(console, views)
        _run_doctor(context, next(iter(context.member_settings)))
        _show_audit(context)
        for title, query in QUERY_STEPS:
            with step(console, title):
                query(context)
    seconds = time.monotonic() - started
    summary_path = _write_summary(context, context.exit_codes, seconds)
    return DemoOutcome(workdir, summary_path, seconds, context.exit_codes)


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
    config = context.member_settings[member_id].data_dir.parent / CONFIG_FILE
    findings = list(diagnose(config, now=context.clock))
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

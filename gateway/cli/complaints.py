"""``credgate complaints``: the complaint loop at this member (file, list, respond, plan, close).

``list`` also escalates complaints whose first response or plan is overdue and flags them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from gateway.clock import system_clock
from gateway.complaints.book import ComplaintBook, ComplaintIntake, ComplaintView
from gateway.complaints.policy import ComplaintPolicy
from gateway.config import Settings
from gateway.identity.tls import TLSIdentity
from gateway.store.database import open_store
from gateway.store.enums import ComplaintCategory, ComplaintChannel, ComplaintGrade, ComplaintOutcome

app = typer.Typer(
    help="Complaints (投诉闭环): intake, SLA clocks, escalation, closure.", no_args_is_help=True
)
ConfigOption = Annotated[Path, typer.Option("--config", envvar="CREDGATE_CONFIG", help="Node TOML file.")]
RefOption = Annotated[str, typer.Option("--ref", help="The complaint's reference at this member.")]
NoteOption = Annotated[str, typer.Option(help="What was said or decided.")]
_console = Console(width=160)


@contextmanager
def _book(config: Path) -> Iterator[ComplaintBook]:
    settings = Settings.from_file(config)
    member_id = TLSIdentity.from_settings(settings.tls).own.member_id
    store = open_store(settings.store_url)
    try:
        yield ComplaintBook(
            store,
            ComplaintPolicy.from_directory(settings.policies_dir),
            member_id=member_id,
            clock=system_clock,
        )
    finally:
        store.close()


@app.command("file")
def file(
    config: ConfigOption,
    ref: RefOption,
    channel: Annotated[ComplaintChannel, typer.Option(help="How it arrived.")],
    category: Annotated[
        ComplaintCategory, typer.Option(help="态度/过度催收, 信息泄露, 骚扰亲友, 合规争议, other.")
    ],
    grade: Annotated[ComplaintGrade, typer.Option(help="minor, moderate or serious (escalated at once).")],
    summary: Annotated[str, typer.Option(help="The complainant's account (stays at this member).")],
    account_ref: Annotated[str | None, typer.Option("--account-ref", help="The account concerned.")] = None,
    lender: Annotated[str | None, typer.Option(help="The entrusting lender's member id.")] = None,
    agency: Annotated[str | None, typer.Option(help="The agency involved.")] = None,
    linked_ref: Annotated[
        str | None, typer.Option("--linked-ref", help="The other party's reference.")
    ] = None,
    referral: Annotated[
        bool, typer.Option("--referral", help="A copy of a complaint received elsewhere (counted there).")
    ] = False,
) -> None:
    """Take a complaint in and start its clocks."""
    with _book(config) as book:
        view = book.file(
            ComplaintIntake(
                ref, channel, category, grade, summary, account_ref, lender, agency, linked_ref, not referral
            )
        )
    _console.print(
        f"complaint {ref} filed: first response due {view.record.first_response_due:%Y-%m-%d %H:%M} UTC, "
        f"plan due {view.record.plan_due:%Y-%m-%d %H:%M} UTC"
        + (f"; escalated to {view.record.escalated_to}" if view.record.escalated_to else "")
    )


@app.command("list")
def list_complaints(
    config: ConfigOption,
    open_only: Annotated[bool, typer.Option("--open", help="Only complaints not closed.")] = False,
) -> None:
    """Every complaint with its clocks; overdue ones are flagged and escalated."""
    with _book(config) as book:
        escalated = book.escalate_overdue()
        views = book.views(open_only=open_only)
    table = Table(
        "ref", "received (UTC)", "category", "grade", "state", "SLA", "flags", "escalated to", "outcome"
    )
    for view in views:
        record = view.record
        table.add_row(
            record.complaint_ref,
            f"{record.received_at:%Y-%m-%d %H:%M}",
            record.category.value,
            record.grade.value,
            record.state.value,
            view.sla.value,
            _flags(view),
            record.escalated_to or "-",
            record.outcome.value if record.outcome else "-",
        )
    _console.print(table)
    if escalated:
        _console.print(f"escalated now (overdue): {', '.join(escalated)}")


@app.command("respond")
def respond(config: ConfigOption, ref: RefOption, note: NoteOption) -> None:
    """Record the first response to the complainant."""
    with _book(config) as book:
        view = book.respond(ref, note)
    _console.print(f"complaint {ref}: first response recorded ({_flags(view)})")


@app.command("plan")
def plan(config: ConfigOption, ref: RefOption, note: NoteOption) -> None:
    """Record the resolution plan."""
    with _book(config) as book:
        view = book.plan(ref, note)
    _console.print(f"complaint {ref}: resolution plan recorded ({_flags(view)})")


@app.command("close")
def close(
    config: ConfigOption,
    ref: RefOption,
    outcome: Annotated[ComplaintOutcome, typer.Option(help="upheld, partly_upheld, not_upheld, withdrawn.")],
    note: NoteOption,
) -> None:
    """Close a complaint with its outcome."""
    with _book(config) as book:
        view = book.close(ref, outcome, note)
    _console.print(f"complaint {ref} closed: {outcome.value}; SLA {view.sla.value}")


def _flags(view: ComplaintView) -> str:
    flags = [
        name
        for name, on in (
            ("OVERDUE response", view.first_response_overdue),
            ("OVERDUE plan", view.plan_overdue),
        )
        if on
    ]
    return ", ".join(flags) or "on time"


def register(root: typer.Typer) -> None:
    """Add the ``complaints`` command group to ``root``."""
    root.add_typer(app, name="complaints")

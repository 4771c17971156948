"""``credgate status`` and ``credgate doctor``: what the consortium and this node look like."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from gateway.cli.exit_codes import ExitCode
from gateway.clock import system_clock
from gateway.config import Settings
from gateway.identity.tls import TLSIdentity
from gateway.node.bureau_client import bureau_client
from gateway.node.doctor import FEDERATED_ENV, Severity, diagnose
from gateway.node.federation_health import PartState, flower_parts

ConfigOption = Annotated[Path, typer.Option("--config", envvar="CREDGATE_CONFIG", help="Node TOML file.")]
_console = Console(width=140)
_STYLE = {Severity.OK: "green", Severity.WARN: "yellow", Severity.FAIL: "red"}


def status(config: ConfigOption) -> None:
    """Show the consortium (members, roles, versions, last seen) and this node's Flower parts."""
    settings = Settings.from_file(config)
    with bureau_client(settings, TLSIdentity.from_settings(settings.tls)) as client:
        members, bureau_time = client.directory()
    table = Table(
        "member",
        "role",
        "address",
        "software",
        "protocol",
        "registered (UTC)",
        "last seen",
        title=f"consortium at {client.address}, bureau time {bureau_time:%Y-%m-%d %H:%M:%S}Z",
    )
    for member in members:
        if member.last_seen_at is None:
            seen = "(bureau only)"
        else:
            seen = f"{(bureau_time - member.last_seen_at).total_seconds():.0f} s ago"
        table.add_row(
            member.member_id,
            member.role.value,
            member.address,
            member.software_version,
            member.protocol_version,
            f"{member.registered_at:%Y-%m-%d %H:%M:%S}",
            seen,
        )
    _console.print(table)
    federated = os.environ.get(FEDERATED_ENV, "") in {"1", "true"}
    for part in flower_parts(settings, environ=os.environ, force_enabled=federated):
        style = {PartState.UP: "green", PartState.DOWN: "red", PartState.OFF: "dim"}[part.state]
        _console.print(f"Flower {escape(part.name)}: [{style}]{part.state.value}[/] — {escape(part.detail)}")


def doctor(config: ConfigOption) -> None:
    """Check configuration, certificates, store, policies, clock and reachability."""
    worst = Severity.OK
    for finding in diagnose(config, now=system_clock, environ=os.environ):
        _console.print(
            f"[{_STYLE[finding.severity]}]{finding.severity.value:>4}[/] {escape(finding.check)}: "
            f"{escape(finding.message)}"
        )
        if finding.severity is Severity.FAIL or (finding.severity is Severity.WARN and worst is Severity.OK):
            worst = finding.severity
    if worst is Severity.FAIL:
        raise typer.Exit(ExitCode.DOCTOR_FOUND_PROBLEMS)

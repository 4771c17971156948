"""``credgate report request``: a regulator's monthly industry risk report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from gateway.config import Settings

ConfigOption = Annotated[
    Path, typer.Option("--config", envvar="CREDGATE_CONFIG", help="Regulator's node TOML file.")
]
app = typer.Typer(
    help="Regulator risk reports (differentially private industry aggregates).", no_args_is_help=True
)
_console = Console(width=140)


@app.command("request")
def request(
    config: ConfigOption,
    period: Annotated[str, typer.Option(help="Reporting month, YYYY-MM.")],
    template: Annotated[
        str, typer.Option(help="Template id from policies/report_templates.")
    ] = "monthly-risk",
    out: Annotated[Path, typer.Option(help="Folder for the HTML and PDF report.")] = Path("reports"),
) -> None:
    """Request a report from the bureau and write it as HTML and PDF."""
    from gateway.node.session import member_session
    from gateway.queries.reports.client import RegulatorClient, write_report

    settings = Settings.from_file(config)
    with member_session(settings) as session:
        client = RegulatorClient.for_session(session)
        report = client.request(template, period)
        html_path, pdf_path = write_report(client.document(report), out, files=session.egress.files)
    table = Table(title=f"{report.template.title} — {period}")
    for column in ("histogram", "cells", "released", "suppressed", "ρ"):
        table.add_column(column)
    for histogram in report.release.histograms:
        released = sum(1 for cell in histogram.cells if cell.noisy_count is not None)
        table.add_row(
            histogram.histogram_id,
            str(len(histogram.cells)),
            str(released),
            str(len(histogram.cells) - released),
            f"{histogram.rho:.4g}",
        )
    _console.print(table)
    source = "the bureau's cache (not re-noised)" if report.from_cache else "a new release"
    _console.print(
        f"{report.release.answering_members} members answered; {source}; ρ {report.release.rho:.4g}"
    )
    _console.print(f"report: {html_path}\npdf:    {pdf_path}")


def register(root: typer.Typer) -> None:
    """Add the ``report`` command group to ``root``."""
    root.add_typer(app, name="report")

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
    language: Annotated[str, typer.Option(help="Report language: zh (Simplified Chinese) or en.")] = "zh",
) -> None:
    """Request a report from the bureau and write it as HTML and PDF."""
    from gateway.node.session import member_session
    from gateway.queries.reports.client import RegulatorClient, write_report
    from gateway.reports.noise import zcdp_epsilon
    from gateway.reports.render import LANGUAGES

    if language not in LANGUAGES:
        raise typer.BadParameter(
            f"expected one of {list(LANGUAGES)}, received {language!r}", param_hint="--language"
        )
    settings = Settings.from_file(config)
    with member_session(settings) as session:
        client = RegulatorClient.for_session(session)
        report = client.request(template, period)
        document = client.document(report, language="zh" if language == "zh" else "en")
        html_path, pdf_path = write_report(document, out, files=session.egress.files)
    table = Table(title=f"{report.template.title} — {period}")
    for column in ("histogram", "cells", "published", "suppressed", "total", "ρ"):
        table.add_column(column)
    for histogram in report.release.histograms:
        released = sum(1 for cell in histogram.cells if cell.noisy_count is not None)
        total = histogram.total
        table.add_row(
            histogram.histogram_id,
            str(len(histogram.cells)),
            str(released),
            str(len(histogram.cells) - released),
            f"{total.noisy_count} ± {total.standard_error:.0f}",
            f"{histogram.rho:.4g}",
        )
    _console.print(table)
    source = "the bureau's cache (not re-noised)" if report.from_cache else "a new release"
    release = report.release
    _console.print(
        f"{release.answering_members} members answered; {source}; ρ {release.rho:.4g} per member; "
        f"a person counted at up to {release.max_members_per_person} members: ρ {release.rho_per_person:.4g} "
        f"(ε {zcdp_epsilon(release.rho_per_person, delta=document.delta):.3g} at δ {document.delta:g})"
    )
    _console.print(f"report: {html_path}\npdf:    {pdf_path}")


def register(root: typer.Typer) -> None:
    """Add the ``report`` command group to ``root``."""
    root.add_typer(app, name="report")

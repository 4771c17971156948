"""Demo step for regulator reports: the monthly industry risk report, and its cached repeat."""

from __future__ import annotations

from gateway.clock import LOCAL_ZONE
from gateway.demo.context import DemoContext
from gateway.node.session import member_session
from gateway.reports.histograms import Period

TEMPLATE_ID = "monthly-risk"


def regulator_report(context: DemoContext) -> None:
    """The regulator asks for last month's report twice: one noised release, then the cache."""
    from gateway.queries.reports.client import RegulatorClient, write_report  # matplotlib: this step only

    settings = context.regulator_settings
    if settings is None:
        raise AssertionError("the demo provisions a regulator")
    period = str(Period.containing(context.clock(), LOCAL_ZONE).before(1))
    with member_session(settings) as session:
        client = RegulatorClient.for_session(session)
        report = client.request(TEMPLATE_ID, period)
        repeat = client.request(TEMPLATE_ID, period)
        # The regulator's report is in Simplified Chinese; an English copy is written beside it.
        html_path, pdf_path = write_report(
            client.document(report), context.outputs / "reports", files=session.egress.files
        )
        write_report(
            client.document(report, language="en"), context.outputs / "reports", files=session.egress.files
        )
    if not repeat.from_cache or repeat.release != report.release:
        raise AssertionError("a repeated report request must be answered from the cache, identically")
    cells = [cell for histogram in report.release.histograms for cell in histogram.cells]
    released = sum(1 for cell in cells if cell.noisy_count is not None)
    segments = report.release.histogram("delinquency").margin(("segment",))
    context.console.print(
        f"  {TEMPLATE_ID} {period}: {report.release.answering_members} members answered, "
        f"{released} of {len(cells)} cells published (the rest suppressed, still inside every total), "
        f"ρ {report.release.rho:.4g} per member, {report.release.rho_per_person:.4g} per person; "
        "the repeat came from the bureau's cache, identical"
    )
    if segments is not None:
        context.console.print(
            "  borrowers with active debt by segment: "
            + ", ".join(
                f"{c.coordinates[0]} {c.noisy_count} ± {c.standard_error:.0f}" for c in segments.cells
            )
        )
        context.results["report_segment_totals"] = {c.coordinates[0]: c.noisy_count for c in segments.cells}
    context.console.print(f"  report: {html_path}")
    context.results["report_html"] = str(html_path)
    context.results["report_pdf"] = str(pdf_path)
    context.results["report_cells_released"] = released
    context.results["report_cells"] = len(cells)

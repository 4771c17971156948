"""The regulator's report: HTML with embedded charts, and a PDF of the same content.

Charts are drawn by matplotlib with the non-interactive Agg backend and embedded in the
HTML as base64 PNG, so the report is one self-contained file. Only released (noised, not
suppressed) cells enter tables' figures and charts; suppressed cells are listed with their
reasons and never shown as zero.
"""

from __future__ import annotations

import base64
import html
import io
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from gateway.reports.budget import LedgerEntry
from gateway.reports.release import HistogramRelease, Release, Treatment
from gateway.reports.templates import ReportTemplate

__all__ = ["ReportDocument", "render_html", "render_pdf", "sla_share"]


@dataclass(frozen=True)
class ReportDocument:
    """What a report shows: the release, its template, the ledger and the stated guarantee."""

    template: ReportTemplate
    release: Release
    ledger: Sequence[LedgerEntry]
    budget_rho: float
    epsilon: float
    delta: float


def render_html(document: ReportDocument) -> str:
    """The report as one self-contained HTML page (charts inline as base64 PNG)."""
    release = document.release
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_e(document.template.title)} — {_e(release.period)}</title>",
        "<style>body{font-family:sans-serif;margin:2em;max-width:70em}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #999;padding:2px 6px}"
        "td.n{text-align:right}.suppressed{color:#888}</style></head><body>",
        f"<h1>{_e(document.template.title)}</h1>",
        f"<p>Period {_e(release.period)} · template {_e(release.template_id)} v{release.template_version}"
        f" · requested by {_e(release.regulator)} · {release.answering_members} members answered"
        f" · released {_e(release.released_at.isoformat())}</p>",
        f"<p>This release spent ρ = {release.rho:.4g} (zCDP) at each member, of "
        f"{document.budget_rho:.4g} per regulator and month; the month's total so far is "
        f"equivalent to ε = {document.epsilon:.3g} at δ = {document.delta:g}.</p>",
    ]
    for histogram in release.histograms:
        parts.append(_histogram_section(document, histogram))
    parts.append(_methods(document))
    parts.append(_ledger_table(document))
    parts.append("</body></html>")
    return "\n".join(parts)


def render_pdf(document: ReportDocument) -> bytes:
    """The report as a PDF: a title page, one chart per histogram, methods and ledger."""
    buffer = io.BytesIO()
    with PdfPages(buffer) as pdf:
        pdf.savefig(_text_page(document.template.title, _summary_lines(document)))
        for histogram in document.release.histograms:
            pdf.savefig(_chart(document.template, histogram))
        pdf.savefig(_text_page("Methods", _methods_lines(document)))
        ledger = [
            f"{e.charged_at}  {e.template_id} v{e.template_version}  rho {e.rho:.4g}" for e in document.ledger
        ]
        pdf.savefig(_text_page("Budget ledger", ledger or ["no charges"]))
    return buffer.getvalue()


def _e(text: object) -> str:
    return html.escape(str(text))


def _png(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _chart(template: ReportTemplate, histogram: HistogramRelease) -> Figure:
    """Released counts summed over all but the first (and last) dimension, as grouped bars.

    Sums of released cells are post-processing of the release; suppressed cells are left
    out, which the caption says.
    """
    first = template.dimensions[histogram.dimensions[0]]
    last = template.dimensions[histogram.dimensions[-1]] if len(histogram.dimensions) > 1 else None
    totals: dict[tuple[str, str], int] = defaultdict(int)
    for cell in histogram.cells:
        if cell.noisy_count is not None:
            key = (cell.coordinates[0], cell.coordinates[-1] if last is not None else "")
            totals[key] += cell.noisy_count
    figure, axes = plt.subplots(figsize=(9, 4))
    series = last.cells if last is not None else ("",)
    width = 0.8 / len(series)
    for number, label in enumerate(series):
        heights = [totals.get((row, label), 0) for row in first.cells]
        positions = [index + number * width for index in range(len(first.cells))]
        axes.bar(positions, heights, width=width, label=label or None)
    axes.set_xticks([index + 0.4 - width / 2 for index in range(len(first.cells))])
    axes.set_xticklabels(list(first.cells), rotation=30, ha="right", fontsize=8)
    axes.set_ylabel("noisy count (released cells)")
    axes.set_title(histogram.title, fontsize=10)
    if last is not None:
        axes.legend(title=last.title, fontsize=7, title_fontsize=7, ncol=2)
    figure.tight_layout()
    return figure


def _histogram_section(document: ReportDocument, histogram: HistogramRelease) -> str:
    template = document.template
    suppressed = sum(1 for cell in histogram.cells if cell.treatment is Treatment.SUPPRESSED)
    rows = []
    for cell in histogram.cells:
        labels = "".join(f"<td>{_e(label)}</td>" for label in cell.coordinates)
        if cell.noisy_count is None:
            note = "suppressed: " + ", ".join(reason.value.replace("_", " ") for reason in cell.reasons)
            rows.append(f'<tr class="suppressed">{labels}<td class="n">—</td><td>{_e(note)}</td></tr>')
        else:
            note = f"noised (σ ≈ {histogram.noise_variance**0.5:.1f})"
            rows.append(f'<tr>{labels}<td class="n">{cell.noisy_count}</td><td>{_e(note)}</td></tr>')
    chart = _png(_chart(template, histogram))
    header = "".join(f"<th>{_e(template.dimensions[name].title)}</th>" for name in histogram.dimensions)
    share = sla_share(histogram)
    sla_line = (
        []
        if share is None
        else [
            f'<p class="sla">Share handled within SLA: {share[0]:.0%} (released cells: met {share[1]}, '
            f"missed {share[2]}; pending and suppressed cells left out; post-processing of the noised "
            "counts, no further budget).</p>"
        ]
    )
    return "\n".join(
        [
            f'<section id="{_e(histogram.histogram_id)}"><h2>{_e(histogram.title)}</h2>',
            f'<img alt="{_e(histogram.title)}" src="data:image/png;base64,{chart}">',
            f"<p>Budget spent: ρ = {histogram.rho:.4g}. Noise: Skellam, variance "
            f"{histogram.noise_variance:.1f}. {suppressed} of {len(histogram.cells)} cells suppressed; "
            "the chart sums released cells only.</p>",
            *sla_line,
            f"<details><summary>All cells</summary><table><tr>{header}<th>noisy count</th><th>note</th></tr>",
            *rows,
            "</table></details></section>",
        ]
    )


def sla_share(histogram: HistogramRelease) -> tuple[float, int, int] | None:
    """``(share met, met, missed)`` over the released cells of a histogram with an ``sla`` axis.

    ``None`` when the histogram has no ``sla`` dimension or no released met or missed cell.
    """
    if "sla" not in histogram.dimensions:
        return None
    axis = histogram.dimensions.index("sla")
    totals: dict[str, int] = defaultdict(int)
    for cell in histogram.cells:
        if cell.noisy_count is not None:
            totals[cell.coordinates[axis]] += cell.noisy_count
    met, missed = totals.get("met", 0), totals.get("missed", 0)
    return None if met + missed <= 0 else (met / (met + missed), met, missed)


def _summary_lines(document: ReportDocument) -> list[str]:
    release = document.release
    return [
        f"Period {release.period}, template {release.template_id} v{release.template_version}",
        f"Requested by {release.regulator}; {release.answering_members} members answered",
        f"rho spent by this release: {release.rho:.4g} of {document.budget_rho:.4g} per month",
        f"Month so far: epsilon {document.epsilon:.3g} at delta {document.delta:g}",
    ]


def _methods_lines(document: ReportDocument) -> list[str]:
    release = document.release
    rules = document.template.release
    lines = [
        "Unit of privacy: one borrower. Each member counts a borrower at most once per cell",
        "per month and in a bounded number of cells (contribution bounding per member).",
        "Noise: each answering member adds Skellam noise shares (Agarwal et al., NeurIPS 2021)",
        f"sized for {release.answering_members} members less {release.colluders} colluder(s); the",
        "vectors are masked (Bonawitz et al., CCS 2017) so no party sees a member's figures",
        "or an exact total. Accounting in zCDP (rho), composed by addition per member.",
        f"Cells with a noisy count below {rules.noisy_count_threshold} are suppressed.",
    ]
    if release.institution_rules_applied:
        lines.append(
            f"Cells also need >= {rules.min_institutions} institutions and none above "
            f"{rules.max_dominance_share:.0%} (noisy counts inside the masked sum)."
        )
    else:
        lines.append(
            f"Institution and dominance rules not applied: fewer than {rules.institution_rules_min_members}"
            " members answered."
        )
    k = rules.stated_lenders_per_borrower
    lines.append(
        f"A borrower held at up to {k} members: rho <= {k * k} x {release.rho:.4g}"
        f" = {k * k * release.rho:.4g} for this release."
    )
    return lines


def _methods(document: ReportDocument) -> str:
    items = "".join(f"<li>{_e(line)}</li>" for line in _methods_lines(document))
    return f'<section id="methods"><h2>Methods</h2><ul>{items}</ul></section>'


def _ledger_table(document: ReportDocument) -> str:
    rows = "".join(
        f"<tr><td>{_e(e.charged_at)}</td><td>{_e(e.template_id)} v{e.template_version}</td>"
        f'<td class="n">{e.rho:.4g}</td></tr>'
        for e in document.ledger
    )
    spent = sum(e.rho for e in document.ledger)
    return (
        f'<section id="ledger"><h2>Budget ledger, {_e(document.release.period)}</h2>'
        f"<table><tr><th>charged at</th><th>template</th><th>ρ</th></tr>{rows}"
        f'<tr><th colspan="2">total of {document.budget_rho:.4g}</th><th class="n">{spent:.4g}</th></tr>'
        "</table></section>"
    )


def _text_page(title: str, lines: Sequence[str]) -> Figure:
    figure = plt.figure(figsize=(8.27, 11.69))
    figure.text(0.08, 0.94, title, fontsize=16, weight="bold")
    for number, line in enumerate(lines):
        figure.text(0.08, 0.9 - number * 0.03, line, fontsize=9)
    return figure

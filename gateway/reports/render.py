"""The regulator's report in Simplified Chinese (default) or English: HTML with charts, and a PDF.

Charts are drawn by matplotlib with the non-interactive Agg backend, embedded in the HTML as
base64 PNG, so the report is one self-contained file; Chinese text uses the Noto Sans CJK font
the ``cvttf-notosanscjk-regular`` package ships (no system font is assumed).

What is shown (issue #13): every published figure is the unbiased, reconciled estimate of the
release; charts show totals (never only the cells that happened to be released), with bars of
±2 standard errors; a suppressed cell's figure is hidden in the cell table but stays in every
total. The headline states what a person pays: the per-person ε, for a person counted at the
release's maximum number of members. Methods are complete sentences, one per item.
"""

from __future__ import annotations

import base64
import html
import io
import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib import font_manager
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from gateway.reports.budget import LedgerEntry
from gateway.reports.noise import zcdp_epsilon
from gateway.reports.release import HistogramRelease, MarginRelease, Release, ReleaseCell
from gateway.reports.templates import Feed, ReportTemplate

__all__ = ["LANGUAGES", "Language", "ReportDocument", "render_html", "render_pdf", "sla_share"]

Language = Literal["zh", "en"]
LANGUAGES: tuple[Language, ...] = ("zh", "en")


def _register_cjk_font() -> list[str]:
    """Register the packaged Noto Sans CJK font with matplotlib; the family list to use."""
    try:
        import cvttf_NotoSansCJK_Regular as package
    except ImportError:  # pragma: no cover - a dependency; charts fall back to DejaVu (boxes for CJK)
        return ["DejaVu Sans"]
    path = package.get_TTF_path()
    font_manager.fontManager.addfont(path)
    return [font_manager.FontProperties(fname=path).get_name(), "DejaVu Sans"]


plt.rcParams["font.family"] = _register_cjk_font()
plt.rcParams["axes.unicode_minus"] = False


@dataclass(frozen=True)
class ReportDocument:
    """What a report shows: the release, its template, the ledger, the guarantee, the language."""

    template: ReportTemplate
    release: Release
    ledger: Sequence[LedgerEntry]
    budget_rho: float
    epsilon: float
    delta: float
    language: Language = "zh"


_TEXT: dict[str, dict[Language, str]] = {
    "period": {"zh": "统计期", "en": "Period"},
    "template": {"zh": "模板", "en": "template"},
    "requested": {"zh": "请求方", "en": "requested by"},
    "answered": {"zh": "家成员机构参与", "en": "members answered"},
    "released": {"zh": "发布时间", "en": "released"},
    "headline_person": {
        "zh": "个人隐私保障：在本次发布中，一个人即使同时在 {k} 家机构被统计，其隐私损失也不超过 "
        "ρ = {rho_p:.4g}（zCDP），相当于 ε = {eps_p:.3g}（δ = {delta:g}）；在多于 {k} 家机构被统计的人"
        "不计入除多头借贷分布以外的任何统计表。",
        "en": "Per-person guarantee: a person counted at up to {k} members pays at most ρ = {rho_p:.4g} "
        "(zCDP) in this release, equivalent to ε = {eps_p:.3g} at δ = {delta:g}; a person counted at "
        "more than {k} members is left out of every histogram but the lenders-per-borrower one.",
    },
    "headline_member": {
        "zh": "每家成员机构为本次发布支出 ρ = {rho:.4g}，其每月对每个监管方的预算为 {budget:.4g}；"
        "本月迄今累计相当于每机构 ε = {eps:.3g}（δ = {delta:g}）。",
        "en": "Each member spent ρ = {rho:.4g} on this release, of {budget:.4g} per regulator and month; "
        "the month so far is equivalent to ε = {eps:.3g} per member at δ = {delta:g}.",
    },
    "totals": {"zh": "合计（含被抑制单元格）", "en": "Totals (suppressed cells included)"},
    "total": {"zh": "总计", "en": "Total"},
    "estimate": {"zh": "估计值", "en": "estimate"},
    "se": {"zh": "标准误", "en": "standard error"},
    "all_cells": {"zh": "全部单元格", "en": "All cells"},
    "suppressed": {"zh": "已抑制", "en": "suppressed"},
    "note": {"zh": "说明", "en": "note"},
    "budget_line": {
        "zh": "本表预算 ρ = {rho:.4g}；噪声为 Skellam 分布，单元格噪声方差 {var:.1f}；"
        "{sup} / {cells} 个单元格被抑制"
        "（数值隐藏，但仍计入合计）。图中为合计估计值，误差线为 ±2 个标准误。",
        "en": "Budget ρ = {rho:.4g}; Skellam noise of variance {var:.1f} per cell; {sup} of {cells} cells "
        "suppressed (hidden, yet inside every total). The chart shows estimated totals with ±2 standard "
        "errors.",
    },
    "sla_share": {
        "zh": "在时限内处理的投诉占比：{share:.0%}（按时 {met}，超时 {missed}；处理中的不计；"
        "由已发布的按时限合计计算，不再支出预算）。",
        "en": "Share of complaints handled within SLA: {share:.0%} (met {met}, missed {missed}; pending "
        "left out; computed from the published totals by SLA status, at no further budget).",
    },
    "methods": {"zh": "方法说明", "en": "Methods"},
    "ledger": {"zh": "预算台账", "en": "Budget ledger"},
    "charged_at": {"zh": "记账时间", "en": "charged at"},
    "of_total": {"zh": "月度预算", "en": "total of"},
    "no_charges": {"zh": "无记录", "en": "no charges"},
    "chart_y": {"zh": "估计人数（±2 标准误）", "en": "estimated persons (±2 standard errors)"},
    "summary": {"zh": "摘要", "en": "Summary"},
}

_REASONS: dict[str, dict[Language, str]] = {
    "below_release_threshold": {"zh": "低于发布阈值", "en": "below release threshold"},
    "too_few_institutions": {"zh": "机构数不足", "en": "too few institutions"},
    "dominant_institution": {"zh": "单一机构占比过高", "en": "dominant institution"},
}


def _t(document: ReportDocument, key: str, **values: object) -> str:
    return _TEXT[key][document.language].format(**values)


def render_html(document: ReportDocument) -> str:
    """The report as one self-contained HTML page (charts inline as base64 PNG)."""
    release = document.release
    title = document.template.display_title(document.language)
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{"zh-CN" if document.language == "zh" else "en"}"><head><meta charset="utf-8">',
        f"<title>{_e(title)} — {_e(release.period)}</title>",
        "<style>body{font-family:'Noto Sans CJK SC','Noto Sans CJK TC','PingFang SC','Microsoft YaHei',"
        "sans-serif;margin:2em;max-width:70em}table{border-collapse:collapse;margin:1em 0}"
        "td,th{border:1px solid #999;padding:2px 6px}td.n{text-align:right}.suppressed{color:#888}"
        "p.headline{font-weight:bold}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
        "<p>" + _e(" · ".join(_summary_lines(document)[:2])) + "</p>",
        f'<p class="headline">{_e(_person_headline(document))}</p>',
        f"<p>{_e(_member_headline(document))}</p>",
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
        summary = [*_summary_lines(document), _person_headline(document), _member_headline(document)]
        pdf.savefig(_text_page(document, document.template.display_title(document.language), summary))
        for histogram in document.release.histograms:
            pdf.savefig(_chart(document, histogram))
        pdf.savefig(_text_page(document, _t(document, "methods"), _methods_lines(document)))
        ledger = [
            f"{e.charged_at}  {e.template_id} v{e.template_version}  ρ {e.rho:.4g}" for e in document.ledger
        ]
        pdf.savefig(_text_page(document, _t(document, "ledger"), ledger or [_t(document, "no_charges")]))
    return buffer.getvalue()


def _e(text: object) -> str:
    return html.escape(str(text))


def _png(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _person_headline(document: ReportDocument) -> str:
    release = document.release
    return _t(
        document,
        "headline_person",
        k=release.max_members_per_person,
        rho_p=release.rho_per_person,
        eps_p=zcdp_epsilon(release.rho_per_person, delta=document.delta),
        delta=document.delta,
    )


def _member_headline(document: ReportDocument) -> str:
    return _t(
        document,
        "headline_member",
        rho=document.release.rho,
        budget=document.budget_rho,
        eps=document.epsilon,
        delta=document.delta,
    )


def sla_share(histogram: HistogramRelease) -> tuple[float, int, int] | None:
    """``(share met, met, missed)`` from the published totals by ``sla`` of a histogram.

    The totals are measured with their own noise and reconciled with the cells, suppressed
    ones included (issue #13), so the share is post-processing of unbiased figures. ``None``
    when the histogram publishes no totals by ``sla`` alone, or when met and missed together
    are not positive.
    """
    margin = histogram.margin(("sla",))
    if margin is None:
        return None
    totals = {cell.coordinates[0]: cell.noisy_count or 0 for cell in margin.cells}
    met, missed = totals.get("met", 0), totals.get("missed", 0)
    if met + missed <= 0:
        return None
    return min(max(met / (met + missed), 0.0), 1.0), met, missed


def _summary_lines(document: ReportDocument) -> list[str]:
    release = document.release
    if document.language == "zh":
        return [
            f"统计期 {release.period}，模板 {release.template_id} v{release.template_version}",
            f"请求方 {release.regulator}；{release.answering_members} 家成员机构参与；"
            f"发布时间 {release.released_at.isoformat()}",
        ]
    return [
        f"Period {release.period}, template {release.template_id} v{release.template_version}",
        f"Requested by {release.regulator}; {release.answering_members} members answered; "
        f"released {release.released_at.isoformat()}",
    ]


def _chart_level(histogram: HistogramRelease) -> MarginRelease | None:
    """The finest published totals with at most two dimensions (the chart's bars)."""
    candidates = [m for m in histogram.margins if 0 < len(m.dimensions) <= 2]
    return max(candidates, key=lambda m: len(m.dimensions)) if candidates else None


def _chart(document: ReportDocument, histogram: HistogramRelease) -> Figure:
    """Estimated totals as grouped bars with ±2 standard errors; 1-D histograms: their cells."""
    template = document.template
    language = document.language
    level = _chart_level(histogram)
    if level is not None:
        dimensions, cells = level.dimensions, level.cells
    else:
        dimensions, cells = histogram.dimensions, histogram.cells
    first = template.dimensions[dimensions[0]]
    last = template.dimensions[dimensions[-1]] if len(dimensions) > 1 else None
    by_key = {(cell.coordinates[0], cell.coordinates[-1] if last is not None else ""): cell for cell in cells}
    figure, axes = plt.subplots(figsize=(9, 4))
    series = last.cells if last is not None else ("",)
    series_labels = last.display_cells(language) if last is not None else ("",)
    width = 0.8 / len(series)
    for number, (label, shown) in enumerate(zip(series, series_labels, strict=True)):
        heights, errors, positions = [], [], []
        for index, row in enumerate(first.cells):
            cell = by_key.get((row, label))
            if cell is None or cell.noisy_count is None:
                continue  # a suppressed cell of a one-dimensional histogram: hidden, not zero
            heights.append(cell.noisy_count)
            errors.append(2 * cell.standard_error)
            positions.append(index + number * width)
        axes.bar(positions, heights, width=width, yerr=errors, capsize=2, label=shown or None)
    axes.axhline(0, color="#444", linewidth=0.6)
    axes.set_xticks([index + 0.4 - width / 2 for index in range(len(first.cells))])
    axes.set_xticklabels(list(first.display_cells(language)), rotation=30, ha="right", fontsize=8)
    axes.set_ylabel(_t(document, "chart_y"))
    spec = template.histogram(histogram.histogram_id)
    axes.set_title(spec.display_title(language), fontsize=10)
    if last is not None:
        axes.legend(title=last.display_title(language), fontsize=7, title_fontsize=7, ncol=2)
    figure.tight_layout()
    return figure


def _labels(document: ReportDocument, dimensions: Sequence[str], coordinates: Sequence[str]) -> list[str]:
    labels = []
    for name, value in zip(dimensions, coordinates, strict=True):
        dimension = document.template.dimensions[name]
        labels.append(dimension.display_cells(document.language)[dimension.cells.index(value)])
    return labels


def _figure(cell: ReleaseCell) -> str:
    return "—" if cell.noisy_count is None else str(cell.noisy_count)


def _histogram_section(document: ReportDocument, histogram: HistogramRelease) -> str:
    template = document.template
    spec = template.histogram(histogram.histogram_id)
    suppressed = sum(1 for cell in histogram.cells if cell.noisy_count is None)
    totals = [f"<h3>{_e(_t(document, 'totals'))}</h3>"]
    for margin in histogram.margins:
        header = (
            "".join(
                f"<th>{_e(template.dimensions[name].display_title(document.language))}</th>"
                for name in margin.dimensions
            )
            or f"<th>{_e(_t(document, 'total'))}</th>"
        )
        rows = []
        for cell in margin.cells:
            labels = "".join(
                f"<td>{_e(label)}</td>" for label in _labels(document, margin.dimensions, cell.coordinates)
            )
            labels = labels or f"<td>{_e(_t(document, 'total'))}</td>"
            rows.append(
                f'<tr>{labels}<td class="n">{_figure(cell)}</td>'
                f'<td class="n">{cell.standard_error:.1f}</td></tr>'
            )
        totals.append(
            f"<table><tr>{header}<th>{_e(_t(document, 'estimate'))}</th>"
            f"<th>{_e(_t(document, 'se'))}</th></tr>" + "".join(rows) + "</table>"
        )
    cells = []
    for cell in histogram.cells:
        labels = "".join(
            f"<td>{_e(label)}</td>" for label in _labels(document, histogram.dimensions, cell.coordinates)
        )
        if cell.noisy_count is None:
            note = (
                _t(document, "suppressed")
                + ": "
                + ", ".join(
                    _REASONS.get(reason.value, {}).get(document.language, reason.value)
                    for reason in cell.reasons
                )
            )
            cells.append(f'<tr class="suppressed">{labels}<td class="n">—</td><td>{_e(note)}</td></tr>')
        else:
            cells.append(
                f'<tr>{labels}<td class="n">{cell.noisy_count}</td>'
                f'<td class="n">{cell.standard_error:.1f}</td></tr>'
            )
    header = "".join(
        f"<th>{_e(template.dimensions[name].display_title(document.language))}</th>"
        for name in histogram.dimensions
    )
    chart = _png(_chart(document, histogram))
    title = spec.display_title(document.language)
    return "\n".join(
        [
            f'<section id="{_e(histogram.histogram_id)}"><h2>{_e(title)}</h2>',
            f'<img alt="{_e(title)}" src="data:image/png;base64,{chart}">',
            "<p>"
            + _e(
                _t(
                    document,
                    "budget_line",
                    rho=histogram.rho,
                    var=histogram.noise_variance,
                    sup=suppressed,
                    cells=len(histogram.cells),
                )
            )
            + "</p>",
            *_sla_line(document, histogram),
            *totals,
            f"<details><summary>{_e(_t(document, 'all_cells'))}</summary><table><tr>{header}"
            f"<th>{_e(_t(document, 'estimate'))}</th><th>{_e(_t(document, 'se'))} / "
            f"{_e(_t(document, 'note'))}</th></tr>",
            *cells,
            "</table></details></section>",
        ]
    )


def _sla_line(document: ReportDocument, histogram: HistogramRelease) -> list[str]:
    share = sla_share(histogram)
    if share is None:
        return []
    text = _t(document, "sla_share", share=share[0], met=share[1], missed=share[2])
    return [f'<p class="sla">{_e(text)}</p>']


def _methods_lines(document: ReportDocument) -> list[str]:
    """The Methods text: one complete statement per item, in the document's language."""
    release = document.release
    template = document.template
    rules = template.release
    k = release.max_members_per_person
    epsilon_person = zcdp_epsilon(release.rho_per_person, delta=document.delta)
    bounds = sorted(
        {
            (h.contribution_bound, h.max_cells_per_borrower)
            for h in template.histograms
            if h.feed is not Feed.LENDERS_PER_BORROWER
        }
    )
    bound, cells = bounds[0] if bounds else (1, 1)
    has_lenders = any(h.feed is Feed.LENDERS_PER_BORROWER for h in template.histograms)
    if document.language == "zh":
        lines = [
            f"隐私单位是一个人：每家成员机构按此人身份证号的 OPRF 令牌合并其全部借款人记录，"
            f"在每张统计表中对此人每个单元格最多计 {bound} 次、最多计入 {cells} 个单元格。",
            f"同一人最多在 {k} 家成员机构被统计：各成员在密钥分桶上计算持有人数（只有成员能去除掩码，征信"
            "机构看不到），"
            f"任何桶内被统计超过 {k} 次的人，在所有成员处都不计入除多头借贷分布以外的统计表。",
            "噪声：每家参与机构加入 Skellam 噪声份额（Agarwal 等，NeurIPS 2021），按 "
            f"{release.answering_members} 家参与机构"
            f"减去 {release.colluders} 家可能合谋的机构计算；各向量经成对掩码和自掩码处理（Bonawitz 等，"
            "CCS 2017），"
            "任何一方都看不到单个机构的数字或任何精确合计。",
            f"隐私核算采用 zCDP：每家机构为本次发布支出 ρ = {release.rho:.4g}；在 {k} 家机构被统计的人支出 "
            f"ρ = {release.rho_per_person:.4g}，相当于 ε = {epsilon_person:.3g}（δ = {document.delta:g}）。"
            "每家机构对每次作答都记账，只有能自行证实从未被打开的作答才退回。",
            "单元格与各级合计分别以独立噪声测量，再用加权最小二乘法协调（与美国 2020 年人口普查 TopDown 方"
            "法同理）："
            "每个发布数字都是无偏估计，每个合计都等于其全部组成部分之和（含被抑制部分），取整后加总关系依"
            "然成立；"
            "每个数字旁给出其标准误。",
            f"估计值低于 {rules.noisy_count_threshold} 的单元格被抑制：其数值不显示，但仍计入所属的每一个"
            "合计，"
            "因此抑制不会使任何合计产生偏差；合计本身从不抑制，可能为很小的数甚至负数，说明真实数值接近于"
            "零。",
        ]
        if release.institution_rules_applied:
            lines.append(
                f"单元格还须至少有 {rules.min_institutions} 家机构贡献，且无一机构超过 "
                f"{rules.max_dominance_share:.0%}（在掩码求和内以含噪计数判断）。"
            )
        else:
            lines.append(f"参与机构少于 {rules.institution_rules_min_members} 家，未适用机构数与集中度规则。")
        if has_lenders:
            lines.append(
                "多头借贷分布：持有人数按密钥分桶统计，可能有两人落入同一桶；发布值由含噪的分桶计数按复合"
                "泊松关系"
                "反推得到人数估计，不存在系统偏差。"
            )
        lines.append(
            f"预算：每家机构对每个监管方每月 ρ = {document.budget_rho:.4g}，并对所有监管方合计设有每月上限；"
            "重复请求由缓存作答，绝不重新加噪。"
        )
        return lines
    lines = [
        "The unit of privacy is one person: each member merges all of a person's borrower records by the "
        "OPRF "
        f"token of their resident ID, and counts the person at most {bound} time(s) per cell and in at most "
        f"{cells} cells of each histogram.",
        f"A person is counted at no more than {k} members: members count holders over keyed buckets (only "
        "members can remove the mask; the bureau sees nothing), and every person in a bucket counted "
        "more than "
        f"{k} times is left out, at every member, of every histogram but the lenders-per-borrower one.",
        f"Noise: each answering member adds Skellam noise shares (Agarwal et al., NeurIPS 2021) sized for "
        f"{release.answering_members} members less {release.colluders} colluder(s); every vector is "
        "masked pairwise "
        "and with a self-mask (Bonawitz et al., CCS 2017), so no party sees a member's figures or any "
        "exact total.",
        f"Accounting in zCDP: each member spent ρ = {release.rho:.4g} on this release; a person counted "
        f"at {k} "
        f"members pays ρ = {release.rho_per_person:.4g}, equivalent to ε = {epsilon_person:.3g} at "
        f"δ = {document.delta:g}. Every attempt a member answers is charged; only attempts it can verify "
        "were "
        "never opened are refunded.",
        "Cells and totals at each level were measured with independent noise and reconciled by weighted "
        "least "
        "squares (the idea of the 2020 US Census TopDown algorithm): every published figure is unbiased, "
        "every "
        "total equals the sum of all its parts, suppressed parts included, and figures are rounded so "
        "that the "
        "sums still hold. Each figure is given with its standard error.",
        f"Cells whose estimate is below {rules.noisy_count_threshold} are suppressed: their value is "
        "hidden, but "
        "they stay inside every total they belong to, so suppression biases no sum. Totals are never "
        "suppressed; "
        "a small or negative total means the true figure is near zero.",
    ]
    if release.institution_rules_applied:
        lines.append(
            f"Cells also need at least {rules.min_institutions} contributing institutions and none above "
            f"{rules.max_dominance_share:.0%}, judged on noisy counts inside the masked sum."
        )
    else:
        lines.append(
            f"Fewer than {rules.institution_rules_min_members} members answered, so the institution-count "
            "and "
            "dominance rules were not applied."
        )
    if has_lenders:
        lines.append(
            "Lenders per borrower: holders are counted over keyed buckets, so two persons may share one; the "
            "published figures are estimated back from the noisy bucket counts through the compound-Poisson "
            "relation, without systematic bias."
        )
    lines.append(
        f"Budget: ρ = {document.budget_rho:.4g} per member, regulator and month, with a monthly cap per "
        "member over "
        "every regulator together; a repeated request is answered from cache and never re-noised."
    )
    return lines


def _methods(document: ReportDocument) -> str:
    items = "".join(f"<li>{_e(line)}</li>" for line in _methods_lines(document))
    return f'<section id="methods"><h2>{_e(_t(document, "methods"))}</h2><ul>{items}</ul></section>'


def _ledger_table(document: ReportDocument) -> str:
    rows = "".join(
        f"<tr><td>{_e(e.charged_at)}</td><td>{_e(e.template_id)} v{e.template_version}</td>"
        f'<td class="n">{e.rho:.4g}</td></tr>'
        for e in document.ledger
    )
    spent = math.fsum(e.rho for e in document.ledger)
    return (
        f'<section id="ledger"><h2>{_e(_t(document, "ledger"))}, {_e(document.release.period)}</h2>'
        f"<table><tr><th>{_e(_t(document, 'charged_at'))}</th>"
        f"<th>{_e(_t(document, 'template'))}</th><th>ρ</th></tr>"
        f'{rows}<tr><th colspan="2">{_e(_t(document, "of_total"))} {document.budget_rho:.4g}</th>'
        f'<th class="n">{spent:.4g}</th></tr></table></section>'
    )


def _wrap(document: ReportDocument, text: str) -> list[str]:
    """Wrap one statement for a PDF page: by characters for Chinese, by words for English."""
    if document.language == "zh":
        return [text[i : i + 46] for i in range(0, len(text), 46)] or [""]
    return textwrap.wrap(text, width=100) or [""]


def _text_page(document: ReportDocument, title: str, paragraphs: Sequence[str]) -> Figure:
    figure = plt.figure(figsize=(8.27, 11.69))
    figure.text(0.08, 0.94, title, fontsize=16, weight="bold")
    y = 0.9
    for paragraph in paragraphs:
        for number, line in enumerate(_wrap(document, paragraph)):
            figure.text(0.08 if number == 0 else 0.1, y, ("• " if number == 0 else "") + line, fontsize=9)
            y -= 0.022
        y -= 0.01
    return figure

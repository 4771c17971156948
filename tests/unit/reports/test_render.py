from __future__ import annotations

import base64
import datetime as dt
import html
import re

import numpy as np
import pytest

from gateway.reports.budget import BudgetPolicy, LedgerEntry
from gateway.reports.histograms import Period
from gateway.reports.noise import zcdp_epsilon
from gateway.reports.release import HistogramMeasurements, build_release, plan_release
from gateway.reports.render import Language, ReportDocument, render_html, render_pdf
from gateway.reports.templates import ReportTemplate

NOW = dt.datetime(2026, 11, 3, 9, 0, tzinfo=dt.UTC)


def _document(template: ReportTemplate, policy: BudgetPolicy, language: Language = "zh") -> ReportDocument:
    plan = plan_release(template, answering=5)
    rng = np.random.default_rng(3)
    measured = {}
    for histogram in template.histograms:
        counts = rng.integers(-20, 400, template.width(histogram))
        if histogram.id == "lenders_per_borrower":
            counts = np.array([3000, 400, 60, 10, 2])
        margins = []
        for margin in histogram.margins:
            totals = np.zeros(template.margin_width(histogram, margin), dtype=np.int64)
            np.add.at(totals, np.asarray(template.margin_index(histogram, margin)), counts)
            margins.append(totals)
        measured[histogram.id] = HistogramMeasurements(counts, tuple(margins))
    release = build_release(
        template,
        plan,
        period=Period.parse("2026-10"),
        regulator="cbirc",
        measurements=measured,
        released_at=NOW,
    )
    ledger = [LedgerEntry("cbirc", "2026-10", "monthly-risk", 2, "", release.rho, NOW.isoformat())]
    return ReportDocument(
        template,
        release,
        ledger,
        policy.rho_per_regulator_period,
        zcdp_epsilon(release.rho, delta=policy.delta_for_statement),
        policy.delta_for_statement,
        language=language,
    )


def _items(page: str, section: str) -> list[str]:
    body = page.split(f'id="{section}"', 1)[1].split("</section>", 1)[0]
    return [html.unescape(item) for item in re.findall(r"<li>(.*?)</li>", body)]


def test_report_is_in_simplified_chinese_by_default(
    template: ReportTemplate, budget_policy: BudgetPolicy
) -> None:
    document = _document(template, budget_policy)
    page = render_html(document)
    assert document.language == "zh" and '<html lang="zh-CN">' in page
    assert "月度行业风险报告" in page and "在贷借款人：按业务类型、省份和逾期天数" in page
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(images) == len(template.histograms)
    assert base64.b64decode(images[0]).startswith(b"\x89PNG\r\n\x1a\n")
    assert "已抑制" in page and 'id="ledger"' in page and "monthly-risk v2" in page


@pytest.mark.parametrize("language", ["zh", "en"])
def test_headline_states_the_per_person_guarantee(
    template: ReportTemplate, budget_policy: BudgetPolicy, language: Language
) -> None:
    document = _document(template, budget_policy, language)
    page = html.unescape(render_html(document))
    release = document.release
    epsilon = zcdp_epsilon(release.rho_per_person, delta=document.delta)
    headline = page.split('<p class="headline">', 1)[1].split("</p>", 1)[0]
    assert f"{release.rho_per_person:.4g}" in headline and f"{epsilon:.3g}" in headline
    assert str(release.max_members_per_person) in headline
    methods = " ".join(_items(page, "methods"))
    assert f"{release.rho_per_person:.4g}" in methods and f"{epsilon:.3g}" in methods


@pytest.mark.parametrize("language", ["zh", "en"])
def test_methods_are_complete_statements(
    template: ReportTemplate, budget_policy: BudgetPolicy, language: Language
) -> None:
    # Issue #13: bullets used to be one printed line each, so sentences broke mid-way.
    items = _items(render_html(_document(template, budget_policy, language)), "methods")
    assert len(items) >= 7
    ending = ("。", "）。") if language == "zh" else (".",)
    assert all(item.strip().endswith(ending) for item in items), items
    first_words = [item.split()[0] for item in items] if language == "en" else []
    assert all(word[0].isupper() for word in first_words)


def test_english_report_and_pdf_are_rendered(template: ReportTemplate, budget_policy: BudgetPolicy) -> None:
    page = render_html(_document(template, budget_policy, "en"))
    assert '<html lang="en">' in page and "Monthly industry risk report" in page
    assert "Skellam" in page and "suppressed parts included" in page
    for language in ("zh", "en"):
        pdf = render_pdf(_document(template, budget_policy, language))  # type: ignore[arg-type]
        assert pdf.startswith(b"%PDF") and len(pdf) > 10_000

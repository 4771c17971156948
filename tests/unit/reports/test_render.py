from __future__ import annotations

import base64
import datetime as dt
import re
from pathlib import Path

import numpy as np

from gateway.reports.budget import BudgetPolicy, PrivacyLedger
from gateway.reports.histograms import Period
from gateway.reports.noise import zcdp_epsilon
from gateway.reports.release import ReleaseKey, build_release, plan_release
from gateway.reports.render import ReportDocument, render_html, render_pdf
from gateway.reports.templates import ReportTemplate

NOW = dt.datetime(2026, 11, 3, 9, 0, tzinfo=dt.UTC)


def _document(template: ReportTemplate, policy: BudgetPolicy, tmp_path: Path) -> ReportDocument:
    plan = plan_release(template, answering=5)
    rng = np.random.default_rng(3)
    counts = {h.id: rng.integers(-20, 400, template.width(h)) for h in template.histograms}
    release = build_release(
        template,
        plan,
        period=Period.parse("2026-10"),
        regulator="cbirc",
        noisy_counts=counts,
        released_at=NOW,
    )
    ledger = PrivacyLedger.in_data_dir(tmp_path, policy, clock=lambda: NOW)
    ledger.charge(
        ReleaseKey("monthly-risk", "2026-10", "cbirc"),
        template_version=1,
        request_hash=b"\x01" * 32,
        rho=release.rho,
    )
    entries = ledger.entries("cbirc", "2026-10")
    return ReportDocument(
        template,
        release,
        entries,
        policy.rho_per_regulator_period,
        zcdp_epsilon(sum(e.rho for e in entries), delta=policy.delta_for_statement),
        policy.delta_for_statement,
    )


def test_html_report_has_charts_notes_methods_and_ledger(
    template: ReportTemplate, budget_policy: BudgetPolicy, tmp_path: Path
) -> None:

    page = render_html(_document(template, budget_policy, tmp_path))
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(images) == len(template.histograms)
    assert base64.b64decode(images[0]).startswith(b"\x89PNG\r\n\x1a\n")
    assert "suppressed: below release threshold" in page
    assert "noised (σ ≈" in page
    assert 'id="methods"' in page and "Skellam" in page
    assert 'id="ledger"' in page and "monthly-risk v1" in page


def test_pdf_report_is_rendered(
    template: ReportTemplate, budget_policy: BudgetPolicy, tmp_path: Path
) -> None:
    pdf = render_pdf(_document(template, budget_policy, tmp_path))
    assert pdf.startswith(b"%PDF")
    assert len(pdf) > 10_000

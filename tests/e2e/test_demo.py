"""The steps of `make demo`, on a small population."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console

from federated.policy import shipped_policy
from gateway.demo.run import run_demo
from gateway.errors import InvalidInputError

from .chromium import colourful_share, inked_share, screenshot

pytestmark = [pytest.mark.processes, pytest.mark.slow]


@pytest.mark.timeout(1200)
def test_demo_runs_a_whole_consortium_and_stops_it(tmp_path: Path) -> None:
    console = Console(record=True, width=160)

    outcome = run_demo(tmp_path / "demo", people=1000, seed=3, console=console)

    summary = json.loads(outcome.summary_path.read_text())
    output = console.export_text()
    assert set(outcome.exit_codes.values()) == {0} and len(outcome.exit_codes) == 6
    assert summary["members"] == ["agency-1", "bank-1", "bank-2", "bank-3", "cfc-1"]
    assert summary["results"]["imported_rows"] > 1000
    assert summary["results"]["quarantined_rows"] == 0
    assert summary["results"]["bureau_audit_entries"] > 5
    assert summary["results"]["borrowers_tokenised"] > 1000
    assert summary["results"]["batch_subjects"] > 10
    assert summary["results"]["subject_access_records"] >= 1
    assert summary["results"]["egress_blocked"] == 1
    assert "single subject checks" in output and "who queried me" in output
    assert (outcome.workdir / "outputs" / "bank-2-portfolio-screen.csv").exists()
    assert "consortium directory" in output and "agency-1" in output
    for member in summary["members"]:
        assert (outcome.workdir / "nodes" / member / "data" / "store.db").exists()
    report = Path(summary["results"]["report_html"])
    assert report.exists() and Path(summary["results"]["report_pdf"]).stat().st_size > 10_000
    assert 0 < summary["results"]["report_cells_released"] < summary["results"]["report_cells"]
    assert "regulator report" in output and "from the bureau's cache, identical" in output
    # Issue #13: the report is in Simplified Chinese (an English copy beside it), and the
    # micro-loan segment, in which no demo member lends, is published as noise around zero.
    page = report.read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in page and "月度行业风险报告" in page and "个人隐私保障" in page
    assert (report.parent / report.name.replace(".html", ".en.html")).exists()
    assert abs(summary["results"]["report_segment_totals"]["micro_loan"]) <= _segment_bound()
    # Collection conduct: a fourth connected call from a second agency and a 22:30 call refused,
    # a complaint closed within its clocks and a serious one escalated, calls screened, and the
    # regulator's conduct report released.
    results = summary["results"]
    assert results["contact_fourth_call"] == "connected_cap"
    assert results["contact_quiet_hours"] == "quiet_hours"
    assert results["contact_dispute"] == "dispute_or_do_not_contact"
    assert results["complaint_closed_sla"] == "met"
    assert results["complaint_serious_escalated_to"] == "compliance_officer"
    assert results["conduct_flagged_calls"] > 0 and Path(results["conduct_report_html"]).exists()
    # The shared model: trained over the real SuperLink/SuperNode processes (the agency runs none),
    # with DP on by default, evaluated on the members' held-out rows, fetched and used by every
    # lender. Its quality is not asserted here: over the demo's ~900 training rows the DP noise
    # makes it a draw (measured 0.52 to 0.65); model quality is tested in tests/integration/federated
    # and measured in bench.federated_dp.
    assert summary["results"]["model_members"] == 4
    assert summary["results"]["model_auc_initial"] == pytest.approx(0.5)  # the base rate ranks nobody
    assert 0.0 <= summary["results"]["model_auc_final"] <= 1.0
    assert summary["results"]["model_epsilon"] == shipped_policy().privacy.default_epsilon  # DP by default
    assert summary["results"]["model_scored_members"] == 4
    assert (outcome.workdir / "outputs" / "bank-1-scores.csv").exists()
    # Every node's audit log (five members and the bureau) co-signed by the other members and
    # verified; an exported evidence bundle verified by a separate, offline process.
    assert summary["results"]["witnessed_logs"] == 6
    assert Path(summary["results"]["audit_bundle"]).exists()
    assert "bundle verified" in output
    pixels = screenshot(report, tmp_path / "report.png")
    assert inked_share(pixels) > 0.05  # text, tables and charts: not a blank page
    assert colourful_share(pixels) > 0.005  # the charts' coloured bars rendered


def _segment_bound() -> float:
    """A segment total's error bound: the exact Chernoff bound of its reconciliation weights (1e-7)."""
    from stat_bounds import weighted_skellam_bound

    from gateway.config import default_policies_dir
    from gateway.reports.release import noise_weights, plan_release
    from gateway.reports.templates import load_template

    template = load_template(default_policies_dir(), "monthly-risk")
    spec = template.histogram("delinquency")
    plan = plan_release(template, answering=5).histograms[spec.id]
    levels = {dims: (w, v) for dims, w, v in noise_weights(template, spec, plan)}
    weights, variances = levels[("segment",)]
    return weighted_skellam_bound(weights[2], variances, figures=1) + 1.0


def test_demo_refuses_to_delete_a_folder_it_did_not_create(tmp_path: Path) -> None:
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "keep.txt").write_text("keep")

    with pytest.raises(InvalidInputError, match="not a demo folder"):
        run_demo(precious, people=100, seed=1, console=Console())

    assert (precious / "keep.txt").exists()

"""Regulator risk reports (ARCHITECTURE §6.4) under distributed differential privacy.

Templates, bounded histograms, Skellam noise shares, the persistent privacy budget,
release thresholds and the rendered report.

The gRPC wiring lives elsewhere; everything here is plain domain code. See ``docs/reports.md``.
"""

from gateway.reports.budget import (
    AlreadyReleasedError,
    BudgetPolicy,
    LedgerEntry,
    PrivacyLedger,
    ReleaseCache,
)
from gateway.reports.histograms import Period, compute_histograms
from gateway.reports.noise import NoisePlan, NoiseShareSource, calibrate_variance, skellam_rho, zcdp_epsilon
from gateway.reports.release import Release, ReleaseCell, ReleaseKey, build_release, plan_release
from gateway.reports.render import ReportDocument, render_html, render_pdf
from gateway.reports.templates import ReportTemplate, load_template

__all__ = [
    "AlreadyReleasedError",
    "BudgetPolicy",
    "LedgerEntry",
    "NoisePlan",
    "NoiseShareSource",
    "Period",
    "PrivacyLedger",
    "Release",
    "ReleaseCache",
    "ReleaseCell",
    "ReleaseKey",
    "ReportDocument",
    "ReportTemplate",
    "build_release",
    "calibrate_variance",
    "compute_histograms",
    "load_template",
    "plan_release",
    "render_html",
    "render_pdf",
    "skellam_rho",
    "zcdp_epsilon",
]

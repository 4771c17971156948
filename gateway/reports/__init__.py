"""Regulator risk reports (ARCHITECTURE §6.4) under distributed differential privacy.

Templates, bounded histograms, Skellam noise shares, the persistent privacy budget,
release thresholds and the rendered report.

The gRPC wiring lives elsewhere; everything here is plain domain code. See ``docs/reports.md``.
Import the modules directly (the package imports nothing, so the status mapping stays light).
"""

"""The model card: an HTML page with ROC and calibration plots, aggregate data summary, ε and settings.

Plots are drawn with matplotlib's Agg backend and embedded as base64 PNG, so the card
is one self-contained file. Everything on it is an aggregate over the federation.
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from federated.registry import ModelRecord

if TYPE_CHECKING:
    from federated.server.results import RunResult

__all__ = ["write_model_card"]


def _png(figure: object) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")  # type: ignore[attr-defined]
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _plots(result: RunResult) -> tuple[str, str]:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    calibration = result.final.calibration if result.final else []
    counts = np.array([c["count"] for c in calibration]) if calibration else np.zeros(0)
    observed = np.array([c["observed"] for c in calibration]) if calibration else np.zeros(0)
    predicted = np.array([c["predicted"] for c in calibration]) if calibration else np.zeros(0)
    points = result.final.roc if result.final else [(0.0, 0.0), (1.0, 1.0)]
    fpr, tpr = [p[0] for p in points], [p[1] for p in points]
    roc, axes = pyplot.subplots(figsize=(4, 4))
    axes.plot(fpr, tpr, label=f"AUC {result.final.auc:.3f}" if result.final else "")
    axes.plot([0, 1], [0, 1], linestyle=":", color="grey")
    axes.set_xlabel("false positive rate")
    axes.set_ylabel("true positive rate")
    axes.legend(loc="lower right")
    roc_png = _png(roc)
    pyplot.close(roc)
    cal, axes = pyplot.subplots(figsize=(4, 4))
    axes.scatter(predicted, observed, s=np.clip(counts / max(counts.max(initial=1.0), 1.0) * 80, 4, 80))
    axes.plot([0, 1], [0, 1], linestyle=":", color="grey")
    axes.set_xlabel("mean predicted probability")
    axes.set_ylabel("observed default rate")
    cal_png = _png(cal)
    pyplot.close(cal)
    return roc_png, cal_png


def write_model_card(path: Path, result: RunResult, record: ModelRecord) -> Path:
    """Render and write the model card of a finished run; return its path."""
    roc_png, cal_png = _plots(result)
    document = result.to_json("finished")
    rows = "".join(
        f"<tr><td>{r['round']}</td><td>{r['auc']:.4f}</td><td>{r['ks']:.4f}</td><td>{r['brier']:.4f}</td>"
        f"<td>{r['ece']:.4f}</td><td>{r['members']}</td><td>{r['epsilon']:.3f}</td></tr>"
        for r in result.rounds
    )
    settings = "".join(
        f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(str(v))}</td></tr>"
        for k, v in document["settings"].items()
    )
    epsilon = (
        f"ε = {result.epsilon:.3f} spent (target {result.settings.dp_epsilon}),"
        f" δ = {result.settings.dp_delta:g}, "
        + (
            "distributed Gaussian noise on the profile and every tree histogram."
            if result.settings.model == "gbt"
            else "record-level DP-SGD at every member."
        )
        if result.settings.dp_epsilon > 0
        else "No differential privacy (dp-epsilon = 0)."
    )
    body = f"""<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(record.name)}
v{record.version}</title></head><body>
<h1>Model card: {html.escape(record.name)} v{record.version}</h1>
<p>Created {html.escape(record.created_at)}. Model {record.kind}; feature spec {html.escape(record.spec_name)}
(SHA-256 {record.spec_sha256[:16]}…); weights SHA-256 {record.weights_sha256[:16]}….</p>
<h2>Data (aggregate only)</h2>
<p>{result.members} members; {result.training_rows} training rows; {document["holdout_rows"]} held-out rows,
default rate {document["holdout_default_rate"] or 0:.3f}. No member's own figures are known to the bureau.</p>
<h2>Privacy</h2><p>{html.escape(epsilon)} Secure aggregation (SecAgg+): {result.settings.secagg}.</p>
<h2>Quality by round (federated held-out evaluation)</h2>
<table border="1"><tr><th>round</th><th>AUC</th><th>KS</th><th>Brier</th><th>ECE</th>
<th>members</th><th>ε</th></tr>
{rows}</table>
<h2>ROC</h2><img alt="ROC curve" src="data:image/png;base64,{roc_png}">
<h2>Calibration</h2><img alt="calibration" src="data:image/png;base64,{cal_png}">
<h2>Run configuration</h2><table border="1">{settings}</table>
</body></html>
"""
    path.write_text(body, encoding="utf-8")
    return path

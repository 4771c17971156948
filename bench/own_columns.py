"""Own columns and federated trees: federated gbt vs member-alone vs centralised HistGradientBoosting.

``python -m bench.own_columns`` (about 6 minutes on 2 cores). For the UCI book and the
credit-risk book, each split by segment (UCI: LIMIT_BAL rank; credit-risk: loan_intent)
and at random across 5 members, on the same stratified 20 % test set
(:func:`federated.features.splits.split_book`): AUC and KS on the test set of

* each member alone (scikit-learn HistGradientBoosting on its own rows),
* federated gradient-boosted trees (in-process ServerApp/ClientApps, SecAgg+ on),
* centralised HistGradientBoosting on the pooled training rows (the modeller's baseline).

Every model sees the same encoded inputs (the spec's encoding with the federation's agreed
imputation). Results go to the "Own columns and federated trees" section of docs/benchmarks.md.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("FLWR_TELEMETRY_ENABLED", "0")
os.environ.setdefault("FLWR_DISABLE_UPDATE_CHECK", "1")

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score, roc_curve

from bench.report import write_section
from federated.features.sources import csv_rows, load_table
from federated.features.spec import load_spec
from federated.features.splits import split_book
from federated.models import predict
from federated.registry import ModelRecord

ROOT = Path(__file__).resolve().parents[1]
BOOKS = {
    "UCI": (
        ROOT / "data" / "uci_taiwan_default.csv",
        ROOT / "policies" / "features" / "uci-taiwan.toml",
        "LIMIT_BAL",
    ),
    "credit-risk": (
        ROOT / "data" / "credit_risk" / "credit_risk_dataset.csv",
        ROOT / "policies" / "features" / "credit-risk.toml",
        "loan_intent",
    ),
}
MEMBERS = 5
TREES = {"rounds": 60, "tree-depth": 5, "tree-learning-rate": 0.2, "eval-every": 60}


def ks(y: np.ndarray, p: np.ndarray) -> float:
    fpr, tpr, _ = roc_curve(y, p)
    return float(np.max(tpr - fpr))


def run(book: str, by: str) -> dict[str, Any]:
    from federated.apps.client import app as client
    from federated.apps.server import app as server
    from federated.inprocess import run_inprocess

    csv, spec_path, _ = BOOKS[book]
    spec = load_spec(spec_path)
    rows = csv_rows(csv, spec)
    split = split_book(rows, target=spec.target, by=by, parts=MEMBERS)
    nodes = {
        1000 + i: {"features-csv": str(csv), "partition-by": by, "partition-id": i, "num-partitions": MEMBERS}
        for i in range(MEMBERS)
    }
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        run_inprocess(
            server, client, node_configs=nodes,
            run_config={"model": "gbt", **TREES, "feature-spec": str(spec_path), "output-dir": out},
        )  # fmt: skip
        seconds = time.perf_counter() - started
        results = json.loads((Path(out) / "results.json").read_text())
        record = ModelRecord.from_bytes(Path(results["model"]).read_bytes())
    as_of = time.gmtime()
    reference = __import__("datetime").date(as_of.tm_year, as_of.tm_mon, as_of.tm_mday)
    test = load_table(split.test, spec, as_of=reference)
    x_test, y_test = test.matrix(spec, record.imputation), test.labels
    p_fed = predict("gbt", record.weights, x_test, hidden=0, depth=record.depth)
    members = [load_table(m, spec, as_of=reference) for m in split.members]
    alone = []
    for member in members:
        model = HistGradientBoostingClassifier(random_state=0).fit(
            member.matrix(spec, record.imputation), member.labels
        )
        p = model.predict_proba(x_test)[:, 1]
        alone.append((roc_auc_score(y_test, p), ks(y_test, p)))
    pooled_x = np.concatenate([m.matrix(spec, record.imputation) for m in members])
    pooled_y = np.concatenate([m.labels for m in members])
    p_hgb = HistGradientBoostingClassifier(random_state=0).fit(pooled_x, pooled_y).predict_proba(x_test)[:, 1]
    return {
        "book": book, "split": "segment" if by != "random" else "random",
        "alone_auc": float(np.mean([a for a, _ in alone])), "alone_ks": float(np.mean([k for _, k in alone])),
        "fed_auc": roc_auc_score(y_test, p_fed), "fed_ks": ks(y_test, p_fed),
        "hgb_auc": roc_auc_score(y_test, p_hgb), "hgb_ks": ks(y_test, p_hgb), "seconds": seconds,
    }  # fmt: skip


def main() -> None:
    lines = []
    for book, (_, _, segment) in BOOKS.items():
        for by in (segment, "random"):
            r = run(book, by)
            print(r, flush=True)
            lines.append(
                f"| {r['book']} | {r['split']} | {r['alone_auc']:.4f} / {r['alone_ks']:.3f} | "
                f"{r['fed_auc']:.4f} / {r['fed_ks']:.3f} | {r['hgb_auc']:.4f} / {r['hgb_ks']:.3f} | "
                f"{r['fed_auc'] - r['hgb_auc']:+.4f} | {r['fed_auc'] - r['alone_auc']:+.4f} | {r['seconds']:.0f} s |"
            )
    body = "\n".join(
        [
            "`python -m bench.own_columns`; same stratified 20 % test set per book; 5 members; federated",
            f"trees in-process with SecAgg+ ({TREES['rounds']} trees, depth {TREES['tree-depth']},"
            f" learning rate {TREES['tree-learning-rate']}, 32 bins); member alone and centralised:",
            "scikit-learn HistGradientBoostingClassifier (defaults) on the same encoded inputs. AUC / KS.",
            "",
            "| book | split | mean member alone | federated trees | centralised HGB | fed − HGB | fed − alone | fed run |",
            "|---|---|---|---|---|---|---|---|",
            *lines,
        ]
    )
    write_section("Own columns and federated trees", body)


if __name__ == "__main__":
    sys.exit(main())

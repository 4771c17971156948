"""Differential privacy on by default: the shared model's AUC with the shipped ε against DP off.

``python -m bench.federated_dp`` (a few minutes on 2 cores). Each shipped book with a file
of its own (UCI, credit-risk) is cut across 5 members by its segment column with the
common stratified 20 % test set (:func:`bench.own_columns.cut`); the federated run uses the
default run settings (the model, rounds and depth a run gets when it states none, so the
shipped ``default_epsilon`` of ``policies/federated.toml``), once with DP off (members
allow it for this comparison; also with the tree settings of before, tuned for exact
histograms) and ``REPEATS`` times with DP at the default ε and at a
smaller one (the noise is fresh each run, so those rows give mean ± standard deviation).
Results: the "Federated model: differential privacy by default" section of docs/benchmarks.md.
"""

from __future__ import annotations

import os
import statistics
import sys
from typing import Any

os.environ.setdefault("FLWR_TELEMETRY_ENABLED", "0")
os.environ.setdefault("FLWR_DISABLE_UPDATE_CHECK", "1")

from bench.own_columns import Split, cut, federated, score_record
from bench.report import write_section
from federated.policy import shipped_policy
from federated.settings import RunSettings
from gateway.synth.books import BOOKS

REPEATS = 3
SMALLER_EPSILON = 2.0
#: The tree settings a run got before DP was on by default (tuned for exact histograms).
BEFORE: dict[str, Any] = {"tree-depth": 4, "tree-bins": 64, "tree-l2": 1.0, "tree-min-child-weight": 5.0}


def auc(split: Split, config: dict[str, Any]) -> tuple[float, float]:
    record, seconds = federated(split, config)
    return score_record(record, split)[0], seconds


def row(book: str, label: str, aucs: list[float], seconds: list[float], off: float) -> str:
    mean = statistics.fmean(aucs)
    spread = f" ± {statistics.stdev(aucs):.4f}" if len(aucs) > 1 else ""
    return f"| {book} | {label} | {mean:.4f}{spread} | {mean - off:+.4f} | {statistics.fmean(seconds):.0f} |"


def main() -> None:
    default = shipped_policy().privacy.default_epsilon
    settings = RunSettings()
    lines = [
        f"`python -m bench.federated_dp`: default run settings ({settings.model}, {settings.rounds} trees of depth"
        f" {settings.tree_depth}, {settings.tree_bins} bins), 5 members cut by segment, AUC on the common 20 %"
        f" test set. δ = {settings.dp_delta:g}; DP rows: mean ± s.d. over {REPEATS} runs (fresh noise each).",
        "",
        "| book | DP | AUC | − DP off | run seconds |",
        "|---|---|---|---|---|",
    ]
    for book in ("uci", "credit-risk"):
        segment = BOOKS[book].segment_column
        assert segment is not None
        split = cut(book, segment)
        off, off_seconds = auc(split, {"dp-epsilon": 0.0})
        lines.append(row(book, "off", [off], [off_seconds], off))
        before, before_seconds = auc(split, {**BEFORE, "dp-epsilon": 0.0})
        lines.append(
            row(book, "off, the defaults before (4 levels, 64 bins, λ 1)", [before], [before_seconds], off)
        )
        for epsilon, label in (
            (default, f"ε = {default:g} (default)"),
            (SMALLER_EPSILON, f"ε = {SMALLER_EPSILON:g}"),
        ):
            runs = [auc(split, {"dp-epsilon": epsilon}) for _ in range(REPEATS)]
            lines.append(row(book, label, [a for a, _ in runs], [s for _, s in runs], off))
            print(lines[-1], file=sys.stderr, flush=True)
    body = "\n".join(lines)
    print(body)
    write_section("Federated model: differential privacy by default", body)


if __name__ == "__main__":
    main()

"""Demo steps for the shared delinquency model: train across the lenders, publish, score locally.

Both use the command line as an operator would: ``credgate train`` at the bureau, then
``credgate model fetch`` and ``credgate score`` at every lender.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from gateway.demo.context import DemoContext
from gateway.demo.provision import CONFIG_FILE
from gateway.errors import GatewayError
from gateway.federation.parts import FEDERATION_FILE
from gateway.synth.books import book_spec

# Gradient-boosted trees over the deployment engine: one SecAgg+ aggregation (two message
# exchanges) per tree level, an evaluation every fifth of the trees riding on the next tree
# (docs/federated-model.md, "Trees"). Trees and depth per book: the UCI accounts' signal is
# mostly the repayment history and levels off within a few shallow trees; the credit-risk
# book's interactions (grade, income share, home ownership) want deeper ones.
# Trees and depth per book. Few, shallow trees: DP is on by default (policies/federated.toml),
# and over the demo's few hundred rows per lender each extra release adds noise to all of them.
TRAINING: dict[str, tuple[int, int]] = {"uci": (3, 2), "credit-risk": (4, 2)}
TRAINING_TIMEOUT_SECONDS = 1800


def train_model(context: DemoContext) -> None:
    """``credgate train`` at the bureau: SecAgg+ over the Flower deployment engine."""
    if not _federated(context):
        return
    bureau = context.consortium.bureau_settings
    trees, depth = TRAINING.get(context.book, TRAINING["uci"])
    _credgate(
        context,
        "train",
        "--config",
        str(bureau.data_dir.parent / CONFIG_FILE),
        "--rounds",
        str(trees),
        "--timeout",
        str(TRAINING_TIMEOUT_SECONDS),
        "--set",
        f"model={context.model}",
        "--set",
        f"tree-depth={depth}",
        "--set",
        f"feature-spec={book_spec(context.book)}",
    )
    (document,) = (bureau.data_dir / "federation" / "runs").glob("*/results.json")
    results = json.loads(document.read_text(encoding="utf-8"))
    initial = next(entry for entry in results["rounds"] if entry["round"] == 0)
    final = results["final"]
    context.console.print(
        f"  {results['members']} lenders trained; held-out AUC {initial['auc']:.3f} → {final['auc']:.3f}, "
        f"KS {final['ks']:.3f}, Brier {final['brier']:.3f} (masked evaluation histograms)"
    )
    epsilon = results.get("epsilon_target")
    if epsilon:
        context.console.print(
            f"  differential privacy on: ε = {epsilon:g} per borrower row; over {results['training_rows']}"
            " rows the noise costs more AUC than over a real book (docs/benchmarks.md)"
        )
    context.results["model_epsilon"] = epsilon
    context.results["model_members"] = results["members"]
    context.results["model_auc_initial"] = round(float(initial["auc"]), 4)
    context.results["model_auc_final"] = round(float(final["auc"]), 4)


def score_accounts(context: DemoContext) -> None:
    """Every lender fetches the signed model, verifies it, and scores its own accounts into tiers."""
    if not _federated(context):
        return
    scored = 0
    for member_id, settings in context.member_settings.items():
        if not (settings.data_dir / FEDERATION_FILE).exists():
            continue  # no SuperNode: an agency trains and scores nothing of its own
        config = str(settings.data_dir.parent / CONFIG_FILE)
        _credgate(context, "model", "fetch", "--config", config, quiet=True)
        (model,) = (settings.data_dir / "models" / "delinquency").glob("v*/model.json")
        out = context.outputs / f"{member_id}-scores.csv"
        printed = _credgate(
            context, "score", "--config", config, "--model", str(model), "--out", str(out), quiet=True
        )
        if scored == 0:
            context.console.print(printed)
        scored += 1
    context.console.print(f"  {scored} lenders verified the bureau's signature and scored their own accounts")
    context.results["model_scored_members"] = scored


def _federated(context: DemoContext) -> bool:
    if not context.federated:
        context.console.print("  skipped: this demo run started no Flower parts (--no-train)")
    return context.federated


def _credgate(context: DemoContext, *args: str, quiet: bool = False) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=TRAINING_TIMEOUT_SECONDS + 60,
        env={**os.environ, "COLUMNS": "120"},
    )
    if result.returncode != 0:
        raise GatewayError(f"credgate {args[0]} failed ({result.returncode}): {result.stderr.strip()[-800:]}")
    if not quiet:
        context.console.print(result.stdout.rstrip())
    return result.stdout.rstrip()

"""A SecAgg+ deployment round at five members, and where its time goes.

Run with ``python -m bench.deployment_round [--rounds N] [--depth D] [--rows R]``. Starts a
bureau's SuperLink and fleet relay and five members' gateways and SuperNodes (real
processes on loopback, as ``tests/integration/federation`` does), imports the credit-risk
book cut by its segment column into the five members' stores (``credgate import
features``'s path), runs the shared model's bundle (``federated/bundle``, trees, SecAgg+ on)
and reports, from the ServerApp's ``results.json`` and the members' ClientApp logs:

* seconds per training round (one tree: one aggregation per level, the evaluation riding
  on the next tree's root level) and per aggregation;
* per message exchange (one SecAgg+ stage: the bureau pushes one message to each member
  and waits for the five replies): its wall time, and inside it the members' ClientApp
  time (task start, app imports, compute and SecAgg+ crypto, reply push) — the rest is
  the relay, the SuperNodes' and the ServerApp's polls.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.report import write_section
from gateway.federation.runs import follow_run, start_run
from gateway.synth.books import book_spec
from tests.integration.federation.harness import REAL_BUNDLE, import_book, running_federation

MEMBERS = 5
_TASK_LINE = re.compile(r"credgate-task (?P<fields>.*)$")


def run(rounds: int, depth: int, rows: int | None, *, keep: Path | None = None) -> dict[str, Any]:
    """Start the federation, import the book, run the bundle; return results and member task timings."""
    with tempfile.TemporaryDirectory() as folder:
        root = keep or Path(folder)
        with running_federation(root, members=MEMBERS, apps=(REAL_BUNDLE,)) as federation:
            imported = import_book(federation, "credit-risk", split="segment", rows=rows)
            started = time.perf_counter()
            started_run = start_run(
                federation.control, REAL_BUNDLE, allow_list=None, output_root=root / "out",
                config={"model": "gbt", "rounds": rounds, "tree-depth": depth,
                        "feature-spec": str(book_spec("credit-risk")), "min-members": 3},
            )  # fmt: skip
            results = follow_run(federation.control, started_run, on_progress=lambda _: None, timeout=3600)
            results["wall_seconds"] = time.perf_counter() - started
            results["imported"] = imported
            results["tasks"] = _member_tasks(root)
    return results


def _member_tasks(root: Path) -> list[dict[str, float]]:
    """Per-message timings the members' ClientApp executors logged (``credgate-task`` lines)."""
    tasks = []
    for log in sorted(root.glob("nodes/*/data/federation/logs/supernode.log")):
        for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
            match = _TASK_LINE.search(line)
            if match:
                fields = dict(part.split("=", 1) for part in match.group("fields").split())
                tasks.append({k: float(v) for k, v in fields.items() if _is_number(v)})
    return tasks


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def summary_lines(results: dict[str, Any], *, depth: int) -> list[str]:
    """Markdown lines for docs/benchmarks.md."""
    timing = results.get("timing") or {}
    rounds = [r for r in results["rounds"] if r["round"] > 0]
    round_seconds = [float(r["seconds"]) for r in rounds]
    tasks = results["tasks"]
    lines = [
        f"{MEMBERS} members (credit-risk book by segment, {sum(results['imported'].values()):,} loans),"
        f" trees of depth {depth}, SecAgg+ on; run wall time {results['wall_seconds']:.1f} s,"
        f" final held-out AUC {results['final']['auc']:.4f}.",
        "",
        "| | seconds |",
        "|---|---|",
        f"| training round (one tree), median of {len(round_seconds)} | {_median(round_seconds):.2f} |",
        f"| message exchange (one SecAgg+ stage, 5 replies), median of {timing.get('exchanges')}"
        f" | {timing.get('exchange_seconds_median')} |",
    ]
    if tasks:
        for key, label in (
            ("wait", "— member: SuperNode received → ClientApp task started"),
            ("load", "— member: task input pulled (message, context, run)"),
            ("app", "— member: ClientApp (compute, SecAgg+ crypto, egress check)"),
            ("push", "— member: reply pushed to the SuperNode"),
        ):
            values = [t[key] for t in tasks if key in t]
            if values:
                lines.append(f"| {label}, median of {len(values)} | {_median(values):.3f} |")
    lines += ["", f"Aggregations per phase: {json.dumps(timing.get('aggregations'))}."]
    return lines


def main() -> None:
    """Run and print; write the section unless ``--no-write``."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--depth", type=int, default=4)
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--keep", type=Path, default=None, help="an empty folder to keep the logs in")
    args = parser.parse_args()
    results = run(args.rounds, args.depth, args.rows, keep=args.keep)
    lines = summary_lines(results, depth=args.depth)
    print("\n".join(lines))
    print(json.dumps({k: results.get(k) for k in ("rounds", "timing", "phase_seconds")}, indent=1))
    if not args.no_write:
        write_section("Deployment round (SecAgg+, five members)", "\n".join(lines))


if __name__ == "__main__":
    main()

"""Sustained subject-check load: 4 queriers, 16 checks in flight, 5 members on 2 cores.

Issue #17 asks for at least 100 checks/s with p99 ≤ 300 ms at 16 in flight, and where the time
goes. One consortium (bureau and 5 members, each its own process on 127.0.0.1 over mTLS); four
lenders query at once, each from its own process (``bench/load_querier.py``) with 4 threads:

* **baseline**: the same 4 processes × 4 threads make bare mTLS health checks to the bureau,
  which is the most the fabric carries on this machine when a call does no work;
* **checks**: single subject checks, each a different consented subject (no cache hits).

Where the time goes: CPU seconds per check of every process (bureau, each member node, each
querier) over the window, read from ``/proc`` for the nodes and reported by the queriers
themselves. With 2 cores the ceiling is ``2 / (CPU seconds per check)`` checks/s.

Run with ``python -m bench.load`` (``make bench``); writes docs/benchmarks.md.
"""

from __future__ import annotations

import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from bench.report import write_section
from gateway.demo.context import DemoContext
from gateway.demo.launch import launched_consortium
from gateway.demo.provision import CONFIG_FILE
from gateway.demo.subject_checks import tokenise_books
from gateway.synth.members import Composition

QUERIER = Path(__file__).with_name("load_querier.py")
COMPOSITION = Composition(bank=3, consumer_finance=1, micro_lender=0, agency=1)
QUERIERS = 4
THREADS_PER_QUERIER = 4
WINDOW_SECONDS = 30.0
PEOPLE = 6000
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds the process ``pid`` has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def node_pids(context: DemoContext) -> dict[str, int]:
    """The process id of the bureau and of every member node."""
    processes = [context.consortium.bureau, *context.consortium.members]
    return {p.member_id: p.process.pid for p in processes if p.process is not None}


def run_window(context: DemoContext, queriers: list[str], mode: str) -> dict[str, Any]:
    """Run every querier in ``mode`` over one window; latencies, failures and CPU by process."""
    start = time.time() + 20.0  # every querier has opened its store and warmed up by then
    configs = {q: context.workdir / "nodes" / q / CONFIG_FILE for q in queriers}
    children = {
        q: subprocess.Popen(
            [
                sys.executable,
                str(QUERIER),
                mode,
                str(path),
                str(THREADS_PER_QUERIER),
                str(WINDOW_SECONDS),
                str(start),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        for q, path in configs.items()
    }
    pids = node_pids(context)
    time.sleep(max(0.0, start - time.time()))
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    time.sleep(WINDOW_SECONDS)
    cpu = {name: cpu_seconds(pid) - before[name] for name, pid in pids.items()}
    latencies: list[float] = []
    failed = 0
    for querier, child in children.items():
        output, _ = child.communicate()
        if child.returncode != 0:
            raise SystemExit(f"querier {querier} exited with {child.returncode}")
        result = json.loads(output.strip().splitlines()[-1])
        latencies += result["latencies_ms"]
        failed += result["failed"]
        if result["failures"]:
            print(f"{querier} failures: {result['failures']}", file=sys.stderr)
        cpu[f"{querier} (querier process)"] = result["cpu_seconds"]
    return {"latencies_ms": latencies, "failed": failed, "cpu": cpu}


def summary(window: dict[str, Any]) -> dict[str, Any]:
    """Calls per second, p50 and p99 in milliseconds."""
    latencies = window["latencies_ms"]
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "rate": len(latencies) / WINDOW_SECONDS,
        "p50": cuts[49],
        "p99": cuts[98],
        "count": len(latencies),
    }


def where_the_time_goes(window: dict[str, Any], checks: int) -> str:
    """A table of CPU milliseconds per check by process, largest first."""
    rows = sorted(window["cpu"].items(), key=lambda item: -item[1])
    total = sum(seconds for _, seconds in rows)
    lines = ["| process | CPU ms per check | share |", "|---|---|---|"]
    lines += [f"| {name} | {seconds * 1000 / checks:.1f} | {seconds / total:.0%} |" for name, seconds in rows]
    lines.append(f"| **all processes** | **{total * 1000 / checks:.1f}** | 100% |")
    return "\n".join(lines)


def main() -> None:
    """Measure the baseline and the checks in one consortium; write the section."""
    quiet = Console(file=io.StringIO())
    with (
        tempfile.TemporaryDirectory() as tmp,
        launched_consortium(
            Path(tmp) / "load", people=PEOPLE, seed=17, composition=COMPOSITION, console=quiet
        ) as (context, views),
    ):
        tokenise_books(context)
        queriers = sorted(v.member_id for v in views if v.role.is_lender)[:QUERIERS]
        baseline = run_window(context, queriers, "health")
        checks = run_window(context, queriers, "check")
    base, load = summary(baseline), summary(checks)
    cpu_per_check = sum(checks["cpu"].values()) / max(load["count"], 1)
    in_flight = QUERIERS * THREADS_PER_QUERIER
    body = (
        f"{QUERIERS} queriers ({', '.join(queriers)}), each its own process with {THREADS_PER_QUERIER} "
        f"threads: {in_flight} calls in flight for {WINDOW_SECONDS:.0f} s against a consortium of 5 members "
        "and the bureau, every node its own process on 127.0.0.1 over mTLS, all on the same 2 cores. "
        "Goal (issue #17): ≥ 100 checks/s sustained with p99 ≤ 300 ms at 16 in flight.\n\n"
        "| calls, 16 in flight | per second | p50 ms | p99 ms | failed | rate / baseline |\n"
        "|---|---|---|---|---|---|\n"
        f"| baseline: bare mTLS health check to the bureau | {base['rate']:,.0f} | {base['p50']:.1f} | "
        f"{base['p99']:.1f} | {baseline['failed']} | 1.0 |\n"
        f"| single subject checks (no cache hits) | {load['rate']:.1f} | {load['p50']:.0f} | {load['p99']:.0f} | "
        f"{checks['failed']} | {load['rate'] / base['rate']:.3f} |\n\n"
        "### Where the time goes\n\n"
        f"CPU per check summed over every process: **{cpu_per_check * 1000:.0f} ms**, so 2 cores carry at "
        f"most **{2 / cpu_per_check:.0f} checks/s** whatever the concurrency; 100 checks/s would need "
        f"{cpu_per_check * 100:.1f} cores.\n\n" + where_the_time_goes(checks, load["count"]) + "\n\n"
        "Each single check is a full protocol run: the querier seals the token to every member (HPKE), "
        "the bureau authorizes, audits and fans out twice (answer, then finalize the attempt), every "
        "responder opens the envelope, verifies the authenticator, commits its round state twice "
        "(fsync'd), answers a masked vector and signs its contribution digest; the querier verifies one "
        "signature per participant, unmasks and records the inquiry. A sampling profile of one responder "
        "(py-spy, GIL samples) puts about a fifth of its busy time in SQLite transactions (the audit entry of "
        "its answer and the two commits of its round state, each fsync'd with `synchronous=FULL` and "
        "serialized by the store's write lock), about a tenth each in its row lookup, its masks and the "
        "interceptors around its two RPCs, and an eighth in witnessing the other nodes' logs. Latency at 16 "
        "in flight is queueing behind that work. Screening many subjects at once shares one protocol run per "
        "1,000-subject chunk (see *Subject check*, batched screening), which is the path for volume.\n"
    )
    write_section("Subject-check load", body)
    print(body)


if __name__ == "__main__":
    main()

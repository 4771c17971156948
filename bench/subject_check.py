"""Subject-check latency and batched screening throughput on real processes over loopback mTLS.

* Single checks: p50/p99 of ``check_one`` from bank-1 with 5 and with 10 members (each a
  separate process), every check a different consented subject (no cache hits). The
  baseline in the same run is one bare mTLS health check to the bureau from the same
  client, the floor any round trip pays.
* Batched screening: subjects/s of ``check_many`` over bank-1's consented portfolio, and,
  side by side, openmined-psi (an ECDH PSI library) computing an intersection size on the
  same set size in its own process.

Run with ``python -m bench.subject_check`` (``make bench``); writes docs/benchmarks.md.
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

from grpc_health.v1 import health_pb2, health_pb2_grpc
from rich.console import Console

from bench.report import write_section
from gateway.clock import local_date, system_clock
from gateway.demo.context import DemoContext
from gateway.demo.launch import launched_consortium
from gateway.demo.subject_checks import tokenise_books
from gateway.node.session import member_session
from gateway.queries.subject_check.querier import SubjectRequest
from gateway.store.database import Store
from gateway.store.enums import ReasonCode
from gateway.store.repositories.consents import valid_consents
from gateway.synth.members import Composition

LATENCY_CHECKS = 120
COMPOSITIONS = {
    5: Composition(bank=3, consumer_finance=1, micro_lender=0, agency=1),
    10: Composition(bank=7, consumer_finance=1, micro_lender=1, agency=1),
}
PSI_PYTHON = Path(os.environ.get("CREDGATE_PSI_PYTHON", ".venv-psi/bin/python"))


def consented(store: Store, reason: ReasonCode) -> list[SubjectRequest]:
    """Every subject the store holds a valid consent for, for ``reason``."""
    return [SubjectRequest(r, c) for r, c in valid_consents(store, reason, today=local_date(system_clock()))]


def percentile(samples: list[float], q: int) -> float:
    """The q-th percentile (1–99) of ``samples``."""
    return statistics.quantiles(samples, n=100)[q - 1]


def latency(context: DemoContext) -> tuple[list[float], list[float]]:
    """Milliseconds per single check and per bare health check, interleaved."""
    checks, floor = [], []
    with member_session(context.member_settings["bank-1"]) as session:
        subjects = consented(session.store, ReasonCode.POST_LOAN_MANAGEMENT)[:LATENCY_CHECKS]
        client = session.subject_checks()
        health = health_pb2_grpc.HealthStub(session.channel)
        client.check_one(subjects[0], ReasonCode.POST_LOAN_MANAGEMENT)  # warm-up
        for subject in subjects[1:]:
            started = time.perf_counter()
            health.Check(health_pb2.HealthCheckRequest(), timeout=5)
            floor.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            client.check_one(subject, ReasonCode.POST_LOAN_MANAGEMENT)
            checks.append((time.perf_counter() - started) * 1000)
    return checks, floor


def screening(context: DemoContext) -> tuple[int, float]:
    """Subjects and seconds for one portfolio screen by bank-1."""
    with member_session(context.member_settings["bank-1"]) as session:
        subjects = consented(session.store, ReasonCode.POST_LOAN_MANAGEMENT)
        started = time.perf_counter()
        session.subject_checks().check_many(subjects, ReasonCode.POST_LOAN_MANAGEMENT)
        return len(subjects), time.perf_counter() - started


def psi_peer(sizes: list[int]) -> dict[int, float]:
    """Seconds openmined-psi takes per set size, measured in its own virtualenv."""
    if not PSI_PYTHON.exists():
        raise SystemExit(f"{PSI_PYTHON} missing: `make bench` creates it (openmined-psi lives apart)")
    output = subprocess.run(
        [str(PSI_PYTHON), str(Path(__file__).with_name("psi_peer.py")), *map(str, sizes)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {int(size): seconds for size, seconds in json.loads(output).items()}


def main() -> None:
    """Run both measurements and write the section."""
    quiet = Console(file=io.StringIO())
    lines = [
        "| members | single check p50 ms | p99 ms | bare mTLS health check p50 ms (baseline) | p50 / baseline |",
        "|---|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for members, composition in COMPOSITIONS.items():
            with launched_consortium(
                Path(tmp) / f"latency-{members}", people=2000, seed=11, composition=composition, console=quiet
            ) as (context, _):
                tokenise_books(context)
                checks, floor = latency(context)
            lines.append(
                f"| {members} | {percentile(checks, 50):.1f} | {percentile(checks, 99):.1f} | "
                f"{percentile(floor, 50):.2f} | {percentile(checks, 50) / percentile(floor, 50):.0f}× |"
            )
        with launched_consortium(
            Path(tmp) / "screen", people=20000, seed=12, composition=COMPOSITIONS[5], console=quiet
        ) as (context, _):
            tokenise_books(context)
            subjects, seconds = screening(context)
    peer = psi_peer([subjects])
    rate = subjects / seconds
    body = (
        "### Single-check latency\n\n"
        f"{LATENCY_CHECKS - 1} checks from bank-1, each a different consented subject (no cache hits): consent "
        "decision, token (from the querier's own tokenised book; the key epoch is confirmed with the bureau at most "
        "once a minute), directory and key-bundle verification (cached for 30 s), HPKE sealing to every "
        "member, fan-out, masked sum, unmasking, inquiry record. Every node is its own process on 127.0.0.1; "
        "2 cores shared by all of them.\n\n" + "\n".join(lines) + "\n\n"
        "### Batched screening\n\n"
        f"bank-1 screens its whole consented portfolio ({subjects} subjects, chunks of 1,000) against 4 other "
        f"members: **{rate:,.0f} subjects/s** ({seconds:.1f} s end to end, tokens of its own book reused).\n\n"
        "| system, same set size | seconds | subjects/s | ratio to credgate |\n|---|---|---|---|\n"
        f"| credgate batched subject check ({subjects} subjects, 5 members, masked sums) | {seconds:.2f} | "
        f"{rate:,.0f} | 1.0 |\n"
        f"| openmined-psi intersection size (ECDH + GCS, {subjects} × {subjects} items, 2 parties, one process) | "
        f"{peer[subjects]:.2f} | {subjects / peer[subjects]:,.0f} | {seconds / peer[subjects]:.2f} |\n\n"
        "openmined-psi answers one bit per item for two parties; credgate answers a 59-slot bucketed vector "
        "per subject summed over every other member, with dropout handling, policy and audit.\n"
    )
    write_section("Subject check", body)
    print(body)


if __name__ == "__main__":
    sys.exit(main())

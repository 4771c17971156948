"""One tree's subject-check figures, printed as JSON (run by ``bench.subject_check``).

Uses only interfaces that the tree before issue #11 and the tree after it both have
(``launched_consortium``, ``tokenise_books``, ``member_session``, ``check_one``,
``check_many``), so the same script measures both in the same run:
``python bench/subject_check_measure.py`` with the tree to measure first on ``PYTHONPATH``.
"""

from __future__ import annotations

import io
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from grpc_health.v1 import health_pb2, health_pb2_grpc
from rich.console import Console

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

# Enough that p99 is not one stall: the 99th percentile of 480 checks is their fifth slowest.
LATENCY_CHECKS = 480
COMPOSITIONS = {
    5: Composition(bank=3, consumer_finance=1, micro_lender=0, agency=1),
    10: Composition(bank=7, consumer_finance=1, micro_lender=1, agency=1),
}


def consented(store: Store, reason: ReasonCode) -> list[SubjectRequest]:
    """Every subject the store holds a valid consent for, for ``reason``."""
    return [SubjectRequest(r, c) for r, c in valid_consents(store, reason, today=local_date(system_clock()))]


def percentile(samples: list[float], q: int) -> float:
    """The q-th percentile (1–99) of ``samples``."""
    return statistics.quantiles(samples, n=100)[q - 1]


def cpu_seconds() -> float:
    """CPU seconds used so far by this process (the querier) and its children (every node)."""
    tick = os.sysconf("SC_CLK_TCK")
    used = time.process_time()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # The command name may hold spaces: the fields after it start past its closing bracket.
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue  # the process ended meanwhile
        if int(fields[1]) == os.getpid():
            used += (int(fields[11]) + int(fields[12])) / tick
    return used


def latency(context: DemoContext) -> tuple[list[float], list[float], float]:
    """Milliseconds per single check and per bare health check, interleaved; CPU ms per check and health check."""
    checks, floor = [], []
    with member_session(context.member_settings["bank-1"]) as session:
        subjects = consented(session.store, ReasonCode.POST_LOAN_MANAGEMENT)[:LATENCY_CHECKS]
        client = session.subject_checks()
        health = health_pb2_grpc.HealthStub(session.channel)
        client.check_one(subjects[0], ReasonCode.POST_LOAN_MANAGEMENT)  # warm-up
        cpu = cpu_seconds()
        for subject in subjects[1:]:
            started = time.perf_counter()
            health.Check(health_pb2.HealthCheckRequest(), timeout=5)
            floor.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            client.check_one(subject, ReasonCode.POST_LOAN_MANAGEMENT)
            checks.append((time.perf_counter() - started) * 1000)
        cpu = cpu_seconds() - cpu
    return checks, floor, 1000 * cpu / len(checks)


def screening(context: DemoContext) -> tuple[int, float, float]:
    """Subjects, seconds and CPU seconds (all processes) for one portfolio screen by bank-1."""
    with member_session(context.member_settings["bank-1"]) as session:
        subjects = consented(session.store, ReasonCode.POST_LOAN_MANAGEMENT)
        started, cpu = time.perf_counter(), cpu_seconds()
        session.subject_checks().check_many(subjects, ReasonCode.POST_LOAN_MANAGEMENT)
        return len(subjects), time.perf_counter() - started, cpu_seconds() - cpu


def main() -> None:
    """Measure one phase (``latency-5``, ``latency-10`` or ``screening``; all by default) and print JSON."""
    phases = sys.argv[1:] or ["latency-5", "latency-10", "screening"]
    quiet = Console(file=io.StringIO())
    result: dict[str, dict[str, object]] = {"latency": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for members, composition in COMPOSITIONS.items():
            if f"latency-{members}" not in phases:
                continue
            with launched_consortium(
                Path(tmp) / f"latency-{members}", people=2000, seed=11, composition=composition, console=quiet
            ) as (context, _):
                tokenise_books(context)
                checks, floor, cpu_ms = latency(context)
            result["latency"][str(members)] = {
                "p50": percentile(checks, 50),
                "p99": percentile(checks, 99),
                "floor_p50": percentile(floor, 50),
                "cpu_ms": cpu_ms,
                "checks": len(checks),
            }
        if "screening" in phases:
            with launched_consortium(
                Path(tmp) / "screen", people=20000, seed=12, composition=COMPOSITIONS[5], console=quiet
            ) as (context, _):
                tokenise_books(context)
                subjects, seconds, cpu = screening(context)
            result["screening"] = {"subjects": subjects, "seconds": seconds, "cpu_seconds": cpu}
    print(json.dumps(result))


if __name__ == "__main__":
    main()

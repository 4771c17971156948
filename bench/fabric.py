"""Cost of the consortium fabric, each against a same-run baseline.

1. RPC latency through the full server stack (mTLS + identity interceptor + Cedar
   decision + hash-chained audit append on SQLite) against a bare mTLS server
   answering the same health check with no interceptor.
2. Import throughput (validation, quarantine bookkeeping, SQLite writes) against
   merely parsing the same CSV with the standard library.
"""

from __future__ import annotations

import csv
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from grpc_health.v1 import health_pb2, health_pb2_grpc

from bench.report import write_section
from gateway._proto.credgate.v1 import bureau_pb2, bureau_pb2_grpc
from gateway.clock import local_date, system_clock
from gateway.demo.provision import BUREAU_ID, NodePlan, provision_ca, provision_node
from gateway.identity.peer import Role
from gateway.identity.tls import TLSIdentity
from gateway.ingest import run_import
from gateway.node.runtime import start_bureau
from gateway.rpc.channel import open_channel
from gateway.rpc.server import start_server
from gateway.store import open_store
from gateway.synth import Composition, SynthOptions, generate_consortium, write_consortium

CALLS = 1000
WARM_UP = 50
PEOPLE = 4000


def percentiles(call: Callable[[], object], count: int) -> tuple[float, float]:
    """Return p50 and p99 of ``count`` calls, in milliseconds."""
    for _ in range(WARM_UP):
        call()
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    quantiles = statistics.quantiles(samples, n=100)
    return quantiles[49], quantiles[98]


def rpc_latency(workdir: Path) -> str:
    """Full-stack heartbeat and directory calls against a bare mTLS health check."""
    now = system_clock()
    authority = provision_ca(workdir / "ca", now=now)
    plans = {
        member: NodePlan(member, role, workdir / member)
        for member, role in ((BUREAU_ID, Role.BUREAU), ("bank-1", Role.BANK))
    }
    for plan in plans.values():
        plan.directory.mkdir(parents=True)
    bureau_settings = provision_node(
        authority, plans[BUREAU_ID], bureau_address=None, heartbeat_seconds=60, now=now
    )
    bank_settings = provision_node(
        authority, plans["bank-1"], bureau_address=None, heartbeat_seconds=60, now=now
    )
    bureau = start_bureau(bureau_settings)
    bank = TLSIdentity.from_settings(bank_settings.tls)
    bare = start_server(identity=bureau.identity, listen="127.0.0.1:0", services=[], interceptors=[])
    bare_channel = open_channel(bank, f"127.0.0.1:{bare.port}", peer_member_id=BUREAU_ID, egress=None)
    channel = open_channel(bank, bureau.address, peer_member_id=BUREAU_ID, egress=None)
    try:
        bare_health = health_pb2_grpc.HealthStub(bare_channel)
        health = health_pb2_grpc.HealthStub(channel)
        stub = bureau_pb2_grpc.BureauServiceStub(channel)
        stub.Register(
            bureau_pb2.RegisterRequest(
                advertised_address="127.0.0.1:1", software_version="bench", protocol_version="credgate.v1"
            ),
            timeout=5,
        )
        baseline = percentiles(lambda: bare_health.Check(health_pb2.HealthCheckRequest(), timeout=5), CALLS)
        guarded_health = percentiles(lambda: health.Check(health_pb2.HealthCheckRequest(), timeout=5), CALLS)
        heartbeat = percentiles(
            lambda: stub.Heartbeat(bureau_pb2.HeartbeatRequest(software_version="bench"), timeout=5), CALLS
        )
        directory = percentiles(lambda: stub.GetDirectory(bureau_pb2.GetDirectoryRequest(), timeout=5), CALLS)
    finally:
        channel.close()
        bare_channel.close()
        bare.stop(0)
        bureau.stop()
    rows = [
        ("health check, bare mTLS server (baseline)", baseline),
        ("health check, full stack (policy + audit)", guarded_health),
        ("Heartbeat, full stack (+ directory write)", heartbeat),
        ("GetDirectory, full stack", directory),
    ]
    lines = ["| call | p50 ms | p99 ms | p50 / baseline |", "|---|---|---|---|"]
    lines += [f"| {name} | {p50:.2f} | {p99:.2f} | {p50 / baseline[0]:.1f}× |" for name, (p50, p99) in rows]
    return (
        f"{CALLS} sequential calls each over one mTLS channel on 127.0.0.1; every full-stack call "
        "authenticates the certificate, checks the CRL, evaluates Cedar and appends to the SQLite "
        "audit chain.\n\n" + "\n".join(lines)
    )


def import_throughput(workdir: Path) -> str:
    """Rows per second imported against rows per second merely parsed."""
    composition = Composition(bank=3, consumer_finance=1, micro_lender=0, agency=1)
    consortium = generate_consortium(
        SynthOptions(people=PEOPLE, seed=11, composition=composition, as_of=local_date(system_clock()))
    )
    write_consortium(consortium, workdir / "consortium")
    folder = workdir / "consortium" / "bank-1"
    rows: dict[str, tuple[int, float, float]] = {}
    store = open_store(f"sqlite:///{workdir / 'import.db'}")
    try:
        for kind in ("borrowers", "accounts", "contacts"):
            path = folder / f"{kind}.csv"
            started = time.perf_counter()
            with path.open(encoding="utf-8", newline="") as handle:
                parsed = sum(1 for _ in csv.DictReader(handle))
            parse_seconds = time.perf_counter() - started
            started = time.perf_counter()
            summary = run_import(store, kind, path, folder / f"{kind}.mapping.toml")
            rows[kind] = (parsed, parse_seconds, time.perf_counter() - started)
            assert summary.rows_imported == parsed, summary
    finally:
        store.close()
    lines = [
        "| kind | rows | parse only, rows/s (baseline) | import, rows/s | import / parse |",
        "|---|---|---|---|---|",
    ]
    for kind, (count, parse_seconds, import_seconds) in rows.items():
        lines.append(
            f"| {kind} | {count} | {count / parse_seconds:,.0f} | {count / import_seconds:,.0f} | "
            f"{parse_seconds / import_seconds:.3f} |"
        )
    return (
        f"Member bank-1 of a synthetic consortium of {PEOPLE} people, SQLite store, default chunk size. "
        "Import validates every row (resident-ID checksum, mobile, dates, amounts, enums, references), "
        "writes the rows and the batch ledger.\n\n" + "\n".join(lines)
    )


def main() -> None:
    """Run both benchmarks and write their section of docs/benchmarks.md."""
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        latency = rpc_latency(workdir / "rpc")
        throughput = import_throughput(workdir / "import")
    body = f"### RPC latency\n\n{latency}\n\n### Import throughput\n\n{throughput}\n"
    write_section("Consortium fabric", body)
    print(body)


if __name__ == "__main__":
    main()

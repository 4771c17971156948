"""Contact clearance: latency on loopback and sustained grants/s in the storm; prints markdown.

Run with ``python -m bench.contact`` (``make bench``). In one run, against the same kind of
bureau process (mTLS on loopback, SQLite store, the clock moved to 10:00 local):

* latency of one clearance (an agency, with its lender's grant; and a lender) against a bare
  mTLS health check on the same channel, sequential, p50/p99 (goal: clearance p99 <= 20 ms);
* the full storm (5 agencies x 1,000 debtors, a bureau crash in the middle, a burst across
  22:00) with its violation counts, and its sustained clears and grants per second against
  bare health checks from 20 concurrent threads.
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from grpc_health.v1 import health_pb2, health_pb2_grpc

from bench.report import write_section
from gateway.clock import UnsafeOffsetClock
from gateway.config import Settings
from gateway.identity.tls import TLSIdentity
from gateway.node.session import member_session
from gateway.rpc.channel import open_channel
from gateway.store.enums import ContactChannel

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.e2e.contact_storm import LENDER, StormSize, StormWorld, offset_to, run_storm

SEQUENTIAL = 500


def _quantiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[int(0.99 * (len(ordered) - 1))] * 1000


def latency(folder: Path) -> dict[str, tuple[float, float]]:
    """Sequential p50/p99 (ms) of an agency's and a lender's clearance and of a health check."""
    world = StormWorld(
        folder, StormSize(agencies=1, debtors=SEQUENTIAL + 50, evening_debtors=0, evening=False)
    )
    offset = offset_to(world.local(dt.time(10)))
    world.start_bureau(offset)
    try:
        agencies = world.prepare_members()
        clock = UnsafeOffsetClock(offset)
        results: dict[str, tuple[float, float]] = {}
        for member, settings in ((world.agencies[0], agencies[world.agencies[0]]), (LENDER, None)):
            config = settings or _settings(world, LENDER)
            with member_session(config, clock=clock) as session:
                client = session.contact_clearance()
                refs = [p.account_ref(member) for p in world.persons[:SEQUENTIAL]]
                numbers = [p.mobile for p in world.persons[:SEQUENTIAL]]
                client.prepare(refs, numbers)
                samples = []
                for ref, number in zip(refs, numbers, strict=True):
                    started = time.perf_counter()
                    clearance = client.clear(ref, channel=ContactChannel.PHONE, number=number)
                    samples.append(time.perf_counter() - started)
                    client.release(clearance)
                results[f"clearance ({'agency, with grant' if member != LENDER else 'lender'})"] = _quantiles(
                    samples
                )
        identity = TLSIdentity.from_settings(agencies[world.agencies[0]].tls)
        channel = open_channel(identity, world.address, peer_member_id="bureau", egress=None)
        stub = health_pb2_grpc.HealthStub(channel)
        samples = []
        for _ in range(SEQUENTIAL):
            started = time.perf_counter()
            stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=10)
            samples.append(time.perf_counter() - started)
        channel.close()
        results["bare mTLS health check"] = _quantiles(samples)
        return results
    finally:
        world.stop_bureau()


def _settings(world: StormWorld, member_id: str) -> Settings:
    return Settings.from_file(world.folder / "nodes" / member_id / "node.toml")


def health_throughput(
    world_address: str, settings_path: Path, seconds: float = 10.0, threads: int = 20
) -> float:
    """Bare mTLS health checks per second from ``threads`` concurrent threads."""
    identity = TLSIdentity.from_settings(Settings.from_file(settings_path).tls)
    channel = open_channel(identity, world_address, peer_member_id="bureau", egress=None)
    stub = health_pb2_grpc.HealthStub(channel)
    counts = [0] * threads
    stop = time.monotonic() + seconds

    def run(index: int) -> None:
        while time.monotonic() < stop:
            stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=10)
            counts[index] += 1

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    channel.close()
    return sum(counts) / seconds


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-contact-") as temporary:
        folder = Path(temporary)
        sequential = latency(folder / "latency")
        size = StormSize(agencies=5, debtors=1000, evening_debtors=100)
        started = time.monotonic()
        storm = run_storm(folder / "storm", size)
        storm_seconds = time.monotonic() - started
        # The storm's bureau is stopped: the baseline runs against a fresh one of the same kind.
        baseline_world = StormWorld(folder / "baseline", StormSize(agencies=1, debtors=10, evening=False))
        baseline_world.start_bureau(offset_to(baseline_world.local(dt.time(10))))
        try:
            agencies = baseline_world.prepare_members()
            config = agencies[baseline_world.agencies[0]].data_dir.parent / "node.toml"
            health_rate = health_throughput(baseline_world.address, config)
        finally:
            baseline_world.stop_bureau()
    rows = "\n".join(f"| {name} | {p50:.1f} | {p99:.1f} |" for name, (p50, p99) in sequential.items())
    load = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else ["?"] * 3
    day = storm.daytime
    evening = storm.evening
    body = f"""
Loopback, one bureau process (SQLite), sequential calls from one client ({SEQUENTIAL} each):

| call | p50 (ms) | p99 (ms) |
|---|---|---|
{rows}

Goal: clearance p99 <= 20 ms. Load average at the end of the run: {" / ".join(load)} (1, 5, 15 min)
on {os.cpu_count()} cores shared with other work: the p99 of both rows moves with it.

The storm ({size.agencies} agencies x {size.debtors} debtors, {size.threads} threads each, the
bureau killed with SIGKILL and restarted when {size.restart_at_fraction:.0%} of the work was
done; then {size.evening_debtors} fresh debtors dialled from 21:59:50 to 22:00:15 local), whole
run {storm_seconds:.0f} s:

| figure | value |
|---|---|
| daytime clearances / grants | {day.clears} / {day.granted} |
| daytime refusals | {dict(day.refusals)} |
| sustained clearances/s (grants/s), crash and restart included | {storm.clears_per_second:.1f} ({storm.grants_per_second:.1f}) |
| bare mTLS health checks/s, 20 threads, same machine and run | {health_rate:.0f} |
| ratio clearances/s : health checks/s | 1 : {health_rate / max(storm.clears_per_second, 1e-9):.0f} |
| evening clearances / grants / refusals | {evening.clears} / {evening.granted} / {dict(evening.refusals)} |
| connected calls over the cap | {storm.connected_over_cap} |
| unanswered attempts over the cap | {storm.unanswered_over_cap} |
| grants or calls in the quiet hours | {storm.quiet_grants} / {storm.quiet_calls} |
| lost / phantom / unsettled reservations | {storm.lost_reservations} / {storm.phantom_reservations} / {storm.unsettled_reservations} |
| double-counted outcomes | {storm.double_counted} |
| refusals without a reason / answers not as stored | {storm.refusals_without_reason} / {storm.answers_not_as_stored} |
| clearances before / after the crash | {storm.clears_before_restart} / {storm.clears_after_restart} |

A clearance costs the bureau two SQLite write transactions (the call's audit entry, then the
decision with its reservation, idempotency record and audit entry), a Cedar decision and, for
an agency, an ECDSA grant verification; the health check is the floor of an mTLS round trip.
"""
    write_section("Contact clearance", body)
    print(body)


if __name__ == "__main__":
    main()

"""One querier of the load benchmark (run by ``bench.load`` as its own process).

``python bench/load_querier.py MODE CONFIG THREADS SECONDS START`` waits until the wall-clock
time ``START`` (so every querier begins together), then keeps ``THREADS`` calls in flight from
the member configured in ``CONFIG`` for ``SECONDS`` and prints one JSON line: the latency of
every call that finished inside the window, the failures, and this process's CPU seconds in
the window. ``MODE`` ``check`` makes single subject checks, each a different consented
subject (no cache hits); ``health`` makes bare mTLS health checks to the bureau (the
baseline: the same processes, threads and channel doing no work).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from grpc_health.v1 import health_pb2, health_pb2_grpc

from gateway.clock import local_date, system_clock
from gateway.config import Settings
from gateway.errors import GatewayError
from gateway.node.session import member_session
from gateway.queries.subject_check.querier import SubjectRequest
from gateway.store.enums import ReasonCode
from gateway.store.repositories.consents import valid_consents

REASON = ReasonCode.POST_LOAN_MANAGEMENT


def main() -> None:
    """Run the querier described by the command line and print its JSON result."""
    mode, config = sys.argv[1], Path(sys.argv[2])
    threads, seconds, start = int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    with member_session(Settings.from_file(config)) as session:
        subjects = [
            SubjectRequest(r, c)
            for r, c in valid_consents(session.store, REASON, today=local_date(system_clock()))
        ]
        health = health_pb2_grpc.HealthStub(session.channel)

        def next_subject() -> SubjectRequest | None:
            with lock:
                if mode == "health":
                    return subjects[0]
                return subjects.pop() if subjects else None

        def caller() -> Callable[[SubjectRequest], object]:
            if mode == "health":
                return lambda _: health.Check(health_pb2.HealthCheckRequest(), timeout=30)
            client = session.subject_checks()
            return lambda subject: client.check_one(subject, REASON)

        call = caller()
        call(subjects.pop())  # warm-up: keys, pins and directory fetched before the window
        time.sleep(max(0.0, start - time.time()))
        cpu_before = time.process_time()
        deadline = time.monotonic() + seconds

        def worker() -> None:
            call = caller()
            while time.monotonic() < deadline and (subject := next_subject()) is not None:
                started = time.perf_counter()
                try:
                    call(subject)
                except GatewayError as exc:
                    with lock:
                        failures.append(f"{type(exc).__name__}: {exc}")
                    continue
                if time.monotonic() <= deadline:
                    with lock:
                        latencies.append((time.perf_counter() - started) * 1000)

        pool = [threading.Thread(target=worker) for _ in range(threads)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
        cpu_seconds = time.process_time() - cpu_before
    result = {
        "latencies_ms": latencies,
        "failed": len(failures),
        "failures": failures[:5],
        "cpu_seconds": cpu_seconds,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()

"""One agency's dialer in the contact storm: a real process clearing and recording calls.

Run as ``python -m tests.e2e.contact_storm_worker --config node.toml --plan plan.json``. It
tokenises its debtors, waits for the go file, then works through the plan's debtors with
several threads: for each debtor and attempt it clears a call, and when granted it "dials"
(the outcome is drawn from a generator seeded per agency) and records the outcome, or gives
the slot back when the grant has expired before dialling. Every request and answer is written
to a JSON-lines log the test checks against the bureau. Until ``--until-local`` (HH:MM:SS local
time) if given, it keeps cycling through its debtors.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import threading
import time
from pathlib import Path
from typing import Any

from gateway.clock import UnsafeOffsetClock, local_time, system_clock
from gateway.config import Settings
from gateway.contact.client import Clearance
from gateway.errors import UnavailableError
from gateway.node.session import member_session
from gateway.store.enums import ContactChannel


class Offset:
    """This dialer's clock: the system clock moved by the offset the go file gives."""

    def __init__(self) -> None:
        self._clock: UnsafeOffsetClock | None = None

    def set(self, seconds: float) -> None:
        self._clock = UnsafeOffsetClock(seconds)

    def clock(self) -> dt.datetime:
        return system_clock() if self._clock is None else self._clock()


class Log:
    def __init__(self, path: Path) -> None:
        self._handle = path.open("a", encoding="utf-8")
        self._lock = threading.Lock()

    def write(self, **entry: Any) -> None:
        line = json.dumps(entry, default=str)
        with self._lock:
            self._handle.write(line + "\n")
            self._handle.flush()

    def close(self) -> None:
        self._handle.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--plan", type=Path, required=True)
    parser.add_argument("--log", type=Path, required=True)
    parser.add_argument("--go", type=Path, required=True)
    parser.add_argument("--ready", type=Path, required=True)
    arguments = parser.parse_args()
    plan = json.loads(arguments.plan.read_text())
    settings = Settings.from_file(arguments.config)
    log = Log(arguments.log)
    # The go file carries the offset of the bureau's clock, which this dialer's clock follows.
    offset = Offset()
    clock = offset.clock
    with member_session(settings, clock=clock) as session:
        client = session.contact_clearance(retry_seconds=plan["retry_seconds"])
        client.prepare(plan["accounts"], plan["numbers"] if plan["prepare_numbers"] else [])
        arguments.ready.write_text("ready")
        while not arguments.go.exists() or not arguments.go.read_text().strip():
            time.sleep(0.05)
        offset.set(float(arguments.go.read_text()))
        rng_lock = threading.Lock()
        rng = random.Random(plan["seed"])
        until = dt.time.fromisoformat(plan["until_local"]) if plan.get("until_local") else None
        work = [(i, a) for a in range(plan["attempts"]) for i in range(len(plan["accounts"]))]
        cursor = iter(work)
        cursor_lock = threading.Lock()

        def next_item() -> tuple[int, int] | None:
            with cursor_lock:
                item = next(cursor, None)
                if item is None and until is not None and local_time(clock()).time() < until:
                    return (rng.randrange(len(plan["accounts"])), -1)
                return item

        def run() -> None:
            while (item := next_item()) is not None:
                index, attempt = item
                account, number = plan["accounts"][index], plan["numbers"][index]
                try:
                    clearance = client.clear(account, channel=ContactChannel.PHONE, number=number)
                except UnavailableError as exc:
                    log.write(op="error", account=account, error=exc.message)
                    continue
                answer = clearance.answer
                log.write(
                    op="clear",
                    account=account,
                    person=index,
                    attempt=attempt,
                    key=clearance.idempotency_key.hex(),
                    decision=answer.decision.value,
                    reservation=answer.reservation_id.hex() if answer.reservation_id else None,
                    expires_at=answer.expires_at,
                    retry_after=answer.retry_after,
                    replayed=answer.replayed,
                    at=clock(),
                )
                if clearance.granted:
                    settle(clearance, index)

        def settle(clearance: Clearance, index: int) -> None:
            answer = clearance.answer
            assert answer.reservation_id is not None and answer.expires_at is not None
            dialled_at = clock()
            if dialled_at >= answer.expires_at:
                # A compliant dialer never dials on an expired grant: it gives the slot back.
                result = client.release(clearance)
                log.write(
                    op="release", reservation=answer.reservation_id.hex(), person=index, late=result.late
                )
                return
            with rng_lock:
                connected = rng.random() < plan["connect_probability"]
            result = client.record(clearance, connected=connected, attempted_at=dialled_at)
            log.write(
                op="record",
                reservation=answer.reservation_id.hex(),
                person=index,
                connected=connected,
                attempted_at=dialled_at,
                late=result.late,
                already=result.already_recorded,
            )

        threads = [threading.Thread(target=run) for _ in range(plan["threads"])]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    log.write(op="done", at=clock())
    log.close()


if __name__ == "__main__":
    main()

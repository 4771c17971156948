"""Run a command with the system clock moved forward, for it and every process it starts.

The suite takes all dates from ``gateway.clock.system_clock``; CI runs it a second time with
that clock moved, so a test that depends on today's date fails now rather than in six weeks.
The clock is moved below Python, with libfaketime (LD_PRELOAD), so that everything agrees on
the moved time: Python, SQLite, certificate checks in gRPC's TLS stack and every node process.

The target instant is 23:59:30 Asia/Shanghai on the first 31 December at least ``--min-days``
days ahead: the run starts thirty seconds before a day, month and year end in consortium
local time, and more than a year after today. Monotonic clocks are left alone (timeouts and
sleeps keep their real length, and gRPC's timed waits stay waits rather than spins).

Usage: ``python .ci/clock_shift.py [--min-days N] -- COMMAND ARG...``
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from pathlib import Path

BEIJING = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")


def target_instant(now: dt.datetime, *, min_days: int) -> dt.datetime:
    """23:59:30 Beijing time on the first 31 December at least ``min_days`` after ``now``."""
    earliest = now + dt.timedelta(days=min_days)
    year = earliest.astimezone(BEIJING).year
    while True:
        candidate = dt.datetime(year, 12, 31, 23, 59, 30, tzinfo=BEIJING)
        if candidate >= earliest:
            return candidate
        year += 1


def faketime_library() -> Path:
    """The libfaketime shared object bundled with the ``libfaketime`` package (a dev extra)."""
    import libfaketime

    path = Path(libfaketime.__file__).parent / "vendor" / "libfaketime" / "src" / "libfaketime.so.1"
    if not path.is_file():
        raise SystemExit(f"libfaketime.so.1 not found at {path}; run `make setup`")
    return path


def main() -> None:
    """Parse the arguments, move the clock and replace this process with the command."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--min-days", type=int, default=400)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    arguments = parser.parse_args()
    command = [part for part in arguments.command if part != "--"]
    if not command:
        parser.error("expected a command after --")
    now = dt.datetime.now(dt.UTC)
    target = target_instant(now, min_days=arguments.min_days)
    offset = int((target - now).total_seconds())
    environment = {
        **os.environ,
        "LD_PRELOAD": str(faketime_library()),
        "FAKETIME": f"+{offset}",
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",
        # With the monotonic clock real, libfaketime's default "monotonic fix" converts the
        # absolute deadlines of monotonic condition-variable waits as if they were faked; gRPC's
        # timed waits then return at once and spin (a health check cost 10 ms of CPU instead of
        # 0.4 ms, and the shifted pass ran several times slower than the plain one).
        "FAKETIME_FORCE_MONOTONIC_FIX": "0",
    }
    print(f"clock moved by {offset} s: the run starts at {target.isoformat()}", flush=True)
    os.execvpe(command[0], command, environment)


if __name__ == "__main__":
    sys.exit(main())

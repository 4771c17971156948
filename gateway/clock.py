"""The one clock: every reading of the wall time goes through a ``Clock``.

Entry points (the CLI, the node runtime, the demo) create ``system_clock`` once and pass it
down; everything below takes a ``Clock`` parameter and never calls ``datetime.now`` itself,
so tests inject a clock and CI can move it (``docs/testing.md``). Consortium rules are
evaluated in Asia/Shanghai local time: ``local_date`` and ``local_time`` convert an instant.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

__all__ = ["LOCAL_ZONE", "Clock", "UnsafeOffsetClock", "local_date", "local_time", "system_clock"]

#: A source of aware UTC instants.
Clock = Callable[[], dt.datetime]

#: Asia/Shanghai has kept UTC+8 without daylight saving since 1991, so a fixed offset is exact
#: and needs no tz database on the host.
LOCAL_ZONE = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")


def system_clock() -> dt.datetime:
    """The host's wall clock, in UTC."""
    return dt.datetime.now(dt.UTC)


class UnsafeOffsetClock:
    """TEST ONLY: the system clock moved by a fixed offset, for process tests that need a given hour.

    The contact storm (``tests/e2e/contact_storm.py``) runs its bureau at 10:00 and then at 21:59
    local time whatever the hour of the run, and its dialers take the same clock in process.
    Entry points build it only from ``CREDGATE_UNSAFE_CLOCK_OFFSET_SECONDS`` and it warns when
    built: a node must never run on it.
    """

    def __init__(self, offset_seconds: float) -> None:
        self._offset = dt.timedelta(seconds=offset_seconds)
        logging.getLogger(__name__).warning(
            "UNSAFE: this process runs on a clock moved by %s s (CREDGATE_UNSAFE_CLOCK_OFFSET_SECONDS); "
            "for tests only",
            offset_seconds,
        )

    def __call__(self) -> dt.datetime:
        """The system clock plus the offset, in UTC."""
        return system_clock() + self._offset


def local_time(instant: dt.datetime) -> dt.datetime:
    """``instant`` in consortium local time (Asia/Shanghai).

    Raises
    ------
    ValueError
        When ``instant`` is naive: a naive time names no instant.

    """
    if instant.tzinfo is None:
        raise ValueError("instant must be timezone-aware")
    return instant.astimezone(LOCAL_ZONE)


def local_date(instant: dt.datetime) -> dt.date:
    """The consortium-local calendar day of ``instant``."""
    return local_time(instant).date()

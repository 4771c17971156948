"""Sliding-window rate limits per caller, kept in the bureau's memory.

Counts restart with the bureau process; the limits bound bulk probing between
restarts, and the audit log keeps every query for after-the-fact review.
"""

from __future__ import annotations

import collections
import datetime as dt
import threading
from dataclasses import dataclass

from gateway.errors import RateLimited


@dataclass(frozen=True)
class Limit:
    """At most ``amount`` units per ``window``."""

    amount: int
    window: dt.timedelta
    name: str


class RateLimiter:
    """Charges units (subjects, evaluations) to a caller against several limits at once.

    Parameters
    ----------
    limits
        Every limit a charge must fit in.

    """

    def __init__(self, limits: tuple[Limit, ...]) -> None:
        self._limits = limits
        self._lock = threading.Lock()
        self._history: dict[str, collections.deque[tuple[dt.datetime, int]]] = collections.defaultdict(
            collections.deque
        )

    def charge(self, caller: str, units: int, *, now: dt.datetime) -> None:
        """Record ``units`` for ``caller`` or raise without recording anything.

        Raises
        ------
        RateLimited
            Naming the limit that would be exceeded and when to retry.

        """
        with self._lock:
            history = self._history[caller]
            longest = max(limit.window for limit in self._limits)
            while history and history[0][0] <= now - longest:
                history.popleft()
            for limit in self._limits:
                used = sum(amount for at, amount in history if at > now - limit.window)
                if used + units > limit.amount:
                    raise RateLimited(
                        f"{caller} would exceed {limit.name} ({used} + {units} > {limit.amount}); retry later"
                    )
            history.append((now, units))

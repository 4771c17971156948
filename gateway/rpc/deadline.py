"""The deadline of the call a node is answering, for the calls it makes while answering it.

A member answering a report round calls the bureau back (the phase-3 holders vector, the
opened sum, the directory when a peer's keys are unknown). Those calls must live as long as
the round gives the member, not a fixed per-call timeout: a fixed 5 s dropped members under
load while the round allowed 60 s, and a fixed 120 s kept working for a round already over.

The handler runs its work inside :func:`answering_within` (the seconds its own caller left,
``grpc.ServicerContext.time_remaining()``); a client asks :func:`call_timeout` for the timeout
of each call it makes: inside, the time left less a small margin to send the answer; outside,
the client's own default. The deadline is a :mod:`contextvars` value, so it belongs to the
thread (or task) answering the call and never leaks into another call.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["answering_within", "call_timeout", "remaining_seconds"]

# Left for the answer to travel back once the inner call returns: a tenth of what remains,
# at most one second.
_MARGIN_FRACTION = 0.1
_MARGIN_CAP_SECONDS = 1.0

_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "credgate_call_deadline", default=None
)


@contextmanager
def answering_within(seconds: float | None) -> Iterator[None]:
    """Run the body as the answer to a call with ``seconds`` left (``None``: no deadline).

    A deadline already in force is only ever shortened, never extended.
    """
    deadline = None if seconds is None else time.monotonic() + max(seconds, 0.0)
    outer = _DEADLINE.get()
    if outer is not None and (deadline is None or outer < deadline):
        deadline = outer
    token = _DEADLINE.set(deadline)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def remaining_seconds() -> float | None:
    """Seconds left of the call being answered, or ``None`` outside one (or without a deadline)."""
    deadline = _DEADLINE.get()
    return None if deadline is None else max(deadline - time.monotonic(), 0.0)


def call_timeout(default: float) -> float:
    """The timeout of an outgoing call: the answered call's time left less a margin, else ``default``."""
    remaining = remaining_seconds()
    if remaining is None:
        return default
    return max(remaining - min(_MARGIN_CAP_SECONDS, _MARGIN_FRACTION * remaining), 0.0)

"""Serve until SIGTERM or SIGINT, stop the node, and end the process within a bounded time.

An operator's (or systemd's) SIGTERM must always end the process. :meth:`RunningNode.stop`
bounds each of its own steps; a watchdog started with it ends the process if the stop as a
whole overruns, after writing every thread's stack to stderr so that what hung can be found
in the log. Once the node has stopped, the process ends at once: the interpreter's teardown
(joining every non-daemon thread, then gRPC's own exit handlers) has nothing left to save
and has been seen to wait without end.
"""

from __future__ import annotations

import faulthandler
import logging
import os
import signal
import sys
import threading
from typing import NoReturn, Protocol

__all__ = ["EXIT_STOP_OVERRAN", "SIGNAL_POLL_SECONDS", "STOP_OVERRUN_SECONDS", "run_until_signalled"]

_LOG = logging.getLogger(__name__)

# Beyond shutdown_grace_seconds: gRPC's own stop margin (5 s) and the closers' joins.
STOP_OVERRUN_SECONDS = 10.0
# The Python handler runs only in the main thread, between bytecodes: when the kernel hands the
# signal to another thread, a main thread blocked without a timeout would never see it.
SIGNAL_POLL_SECONDS = 0.5
# The node had not finished stopping when the budget ran out.
EXIT_STOP_OVERRAN = 1


class StoppableNode(Protocol):
    """What this module needs from a node (a :class:`~gateway.node.runtime.RunningNode`)."""

    def stop(self) -> None: ...


def run_until_signalled(node: StoppableNode, *, grace_seconds: float) -> NoReturn:
    """Block until SIGTERM or SIGINT, stop ``node`` and end the process (exit 0).

    When the stop has not returned ``grace_seconds`` + :data:`STOP_OVERRUN_SECONDS` after
    the signal, the process ends with :data:`EXIT_STOP_OVERRAN` instead.
    """
    received = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        _LOG.info("shutting_down", extra={"signal": signal.Signals(signum).name})
        received.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    while not received.wait(SIGNAL_POLL_SECONDS):
        pass
    _start_watchdog(grace_seconds + STOP_OVERRUN_SECONDS)
    node.stop()
    _end_process(0)


def _start_watchdog(budget_seconds: float) -> None:
    def expire() -> None:
        _LOG.error("stop_overran", extra={"budget_seconds": budget_seconds})
        faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
        _end_process(EXIT_STOP_OVERRAN)

    timer = threading.Timer(budget_seconds, expire)
    timer.daemon = True
    timer.start()


def _end_process(code: int) -> NoReturn:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)

"""Serve until SIGTERM or SIGINT, then stop within a bounded time, whatever is stuck.

An operator's (or systemd's) SIGTERM must always end the process. :meth:`RunningNode.stop`
bounds each of its own steps, but the interpreter's exit then joins every non-daemon thread
(gRPC's worker pool among them) without limit. A watchdog started with the stop ends the
process once the budget is spent, after writing every thread's stack to stderr so that what
hung can be found in the log.
"""

from __future__ import annotations

import faulthandler
import logging
import os
import signal
import sys
import threading
from typing import Protocol

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
    """What the watchdog needs from a node (a :class:`~gateway.node.runtime.RunningNode`)."""

    stopped: threading.Event

    def stop(self) -> None: ...


def run_until_signalled(node: StoppableNode, *, grace_seconds: float) -> None:
    """Block until SIGTERM or SIGINT, then stop ``node``; the process ends within the budget.

    The budget is ``grace_seconds`` + :data:`STOP_OVERRUN_SECONDS` from the signal. A process
    still alive then exits with 0 when the node had stopped (only the interpreter's teardown
    hung) and :data:`EXIT_STOP_OVERRAN` when it had not.
    """
    received = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        _LOG.info("shutting_down", extra={"signal": signal.Signals(signum).name})
        received.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    while not received.wait(SIGNAL_POLL_SECONDS):
        pass
    _start_watchdog(node, grace_seconds + STOP_OVERRUN_SECONDS)
    node.stop()


def _start_watchdog(node: StoppableNode, budget_seconds: float) -> None:
    def expire() -> None:
        stopped = node.stopped.is_set()
        _LOG.error("stop_overran", extra={"budget_seconds": budget_seconds, "node_stopped": stopped})
        faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0 if stopped else EXIT_STOP_OVERRAN)

    timer = threading.Timer(budget_seconds, expire)
    timer.daemon = True
    timer.start()

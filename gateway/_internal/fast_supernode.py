"""``flower-supernode`` paced for SecAgg+, with credgate's ClientApp executor inside: a labelled hack.

A SecAgg+ aggregation is four rounds of messages, so a member's per-message overhead is
paid four times per aggregation. Flower 1.41 (and 1.42) fixes that overhead in code no
flag reaches (``flwr/supernode/start_client_internal.py``):

* a fleet pull that finds no message sleeps 3 s (``time.sleep(3)``) before the next;
* after a message is handed over, the SuperNode checks for the reply, and for each reply
  object, every 0.5 s (``time.sleep(0.5)``);
* a message's objects not yet uploaded are retried after 1 s, 2 s, 4 s… (``pull_objects``).

This entry point runs Flower's own ``flower-supernode`` (same argv) after rebinding, in
that one Flower module only: ``time`` to a module whose ``sleep(3)`` is an adaptive idle
pause (:class:`Pace`: 50 ms after a message, growing by half per empty pull up to
``CREDGATE_SUPERNODE_POLL`` seconds, default 2) and whose ``sleep(0.5)`` is 10 ms (a
lookup in the SuperNode's own memory); ``pull_objects`` to the short retries of
:mod:`gateway._internal.flower_pulls`; and ``_pull_and_store_message`` to Flower's own
function followed by waking the executor. So an active run is polled closely and an idle
node sends one pull every 2 s instead of one every 3 s.

The SuperNode runs with ``--isolation process`` (it starts no ``flower-superexec``); the
executor (:mod:`gateway.federation.clientapp_executor`) runs here in a thread, takes each
task from the SuperNode's runtime API the moment a message is stored, and hands it to the
long-lived worker process of its run. Logs carry timestamps and no terminal colours.
Remove the rebinding when Flower makes these waits configurable.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

__all__ = ["Pace", "main", "paced_time"]

POLL_ENV = "CREDGATE_SUPERNODE_POLL"
DEFAULT_POLL_SECONDS = 2.0
FIRST_POLL_SECONDS = 0.05
POLL_GROWTH = 1.5
REPLY_POLL_SECONDS = 0.01
_FLOWER_IDLE_SLEEP = 3
_FLOWER_REPLY_SLEEP = 0.5


class Pace:
    """The idle pause between fleet pulls: short after a message, growing while none comes."""

    def __init__(self, *, first: float = FIRST_POLL_SECONDS, cap: float = DEFAULT_POLL_SECONDS) -> None:
        self.first, self.cap = first, max(cap, first)
        self._pause = self.first

    def idle(self) -> float:
        """The next pause after an empty pull (each one longer, up to the cap)."""
        pause = self._pause
        self._pause = min(self._pause * POLL_GROWTH, self.cap)
        return pause

    def busy(self) -> None:
        """A message came or is in hand: the next pauses start short again."""
        self._pause = self.first


def paced_time(pace: Pace, *, sleep: Callable[[float], None] = time.sleep) -> SimpleNamespace:
    """A stand-in for the ``time`` module whose two Flower waits follow ``pace``."""

    def paced_sleep(seconds: float) -> None:
        if seconds == _FLOWER_IDLE_SLEEP:
            seconds = pace.idle()
        elif seconds == _FLOWER_REPLY_SLEEP:
            pace.busy()
            seconds = REPLY_POLL_SECONDS
        sleep(seconds)

    names = {name: getattr(time, name) for name in dir(time) if not name.startswith("__")}
    return SimpleNamespace(**{**names, "sleep": paced_sleep})


def _runtime_address(argv: list[str]) -> str:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    known, _ = parser.parse_known_args(argv)
    return f"{known.host}:{known.port}"


def main() -> int:
    """Rebind the waits, start the executor thread and run Flower's ``flower-supernode``."""
    from flwr.supercore.logger import update_console_handler
    from flwr.supernode import start_client_internal
    from flwr.supernode.cli import flower_supernode

    from gateway._internal.flower_pulls import shorten_object_pulls
    from gateway.clock import system_clock
    from gateway.federation.clientapp_executor import serve_in_thread

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(asctime)s: %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per loopback call otherwise
    # Flower's logger has its own handler (and logs DEBUG records for it to filter): keep them there.
    logging.getLogger("flwr").propagate = False
    update_console_handler(timestamps=True, colored=False)
    pace = Pace(cap=float(os.environ.get(POLL_ENV, DEFAULT_POLL_SECONDS)))
    wake = threading.Event()
    pull_and_store = start_client_internal._pull_and_store_message

    def pull_store_and_wake(*args: Any, **kwargs: Any) -> int | None:
        run_id: int | None = pull_and_store(*args, **kwargs)
        if run_id is not None:
            pace.busy()
            wake.set()  # The message and its objects are stored: its task can start now.
        return run_id

    # The labelled hack: these three names of one Flower module are rebound (see above).
    setattr(start_client_internal, "time", paced_time(pace))  # noqa: B010
    setattr(start_client_internal, "_pull_and_store_message", pull_store_and_wake)  # noqa: B010
    shorten_object_pulls(start_client_internal)
    serve_in_thread(_runtime_address(sys.argv[1:]), wake=wake, clock=system_clock)
    sys.argv[0] = "flower-supernode"
    flower_supernode()
    return 0


if __name__ == "__main__":
    sys.exit(main())

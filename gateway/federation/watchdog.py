"""Restart a node's Flower children when they exit while the node is still running.

A SuperNode that crashed (or shut itself down after a transient refusal) comes
back with the same key and node config; a SuperLink comes back on the same
loopback port with the same state database, so the relay and ``credgate train``
keep working. Restarts back off from 1 s to 30 s; each is logged with the
child's exit code and log file.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from gateway.federation.children import ChildProcess
from gateway.federation.errors import FederationError

_LOG = logging.getLogger(__name__)
CHECK_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 30.0


class ChildWatchdog:
    """Checks ``children`` every second from a daemon thread; :meth:`stop` before stopping them."""

    def __init__(self, children: Sequence[ChildProcess], *, check_seconds: float = CHECK_SECONDS) -> None:
        self._children = tuple(children)
        self._check_seconds = check_seconds
        self._stopping = threading.Event()
        self._backoff = dict.fromkeys((child.name for child in self._children), 1.0)
        self.restarts = 0
        self._thread = threading.Thread(target=self._run, name="flower-watchdog", daemon=True)

    @property
    def children(self) -> tuple[ChildProcess, ...]:
        """The children watched."""
        return self._children

    def start(self) -> None:
        """Begin watching."""
        self._thread.start()

    def stop(self) -> None:
        """Stop watching (the children are left to their own stop)."""
        self._stopping.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stopping.wait(self._check_seconds):
            for child in self._children:
                code = child.exit_code()
                if code is None or self._stopping.is_set():
                    continue
                delay = self._backoff[child.name]
                _LOG.error("%s exited with code %s (log %s); restarting in %.0f s", child.name, code,
                           child.log_path, delay)  # fmt: skip
                if self._stopping.wait(delay):
                    return
                try:
                    child.restart()
                except FederationError as exc:
                    _LOG.error("restarting %s failed: %s", child.name, exc.message)
                self.restarts += 1
                self._backoff[child.name] = min(delay * 2, MAX_BACKOFF_SECONDS)

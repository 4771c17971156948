"""Run a duty every few seconds on a background thread until stopped."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import grpc

from gateway.errors import GatewayError

__all__ = ["Ticker"]

_LOG = logging.getLogger(__name__)


class Ticker:
    """Calls ``duty`` at once and then every ``interval`` seconds; a failing call is logged, not fatal."""

    def __init__(self, name: str, duty: Callable[[], object], *, interval: float) -> None:
        self._duty = duty
        self._interval = interval
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        """Start the thread."""
        self._thread.start()

    def poke(self) -> None:
        """Run the duty again soon instead of at the end of the interval."""
        self._wake.set()

    def stop(self) -> None:
        """Stop the thread and wait for the running call to end."""
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._duty()
            except (GatewayError, grpc.RpcError) as exc:
                _LOG.warning("%s failed: %s", self._thread.name, getattr(exc, "message", exc))
            self._wake.wait(self._interval)
            self._wake.clear()

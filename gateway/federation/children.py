"""Supervised Flower child processes: started in their own process group, stopped with SIGTERM.

Flower's executables spawn helpers of their own (``flower-superexec``, one
``flwr-serverapp`` or ``flwr-clientapp`` per task). Each child starts a new
process group, so stopping it signals that whole group and nothing else.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO

from gateway.federation.errors import FederationError

_LOG = logging.getLogger(__name__)
STOP_GRACE_SECONDS = 5.0


class ChildProcess:
    """One Flower executable run by a node, its output appended to ``log_path``."""

    def __init__(self, name: str, argv: Sequence[str], *, env: Mapping[str, str], log_path: Path) -> None:
        self.name = name
        self.argv = tuple(argv)
        self._env = dict(env)
        self.log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """The child's pid once started."""
        return None if self._process is None else self._process.pid

    def start(self) -> None:
        """Start the child in a new process group.

        Raises
        ------
        FederationError
            When the executable cannot be started.

        """
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        try:
            self._process = subprocess.Popen(
                self.argv,
                env=self._env,
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            raise FederationError(f"cannot start {self.name}: {exc.strerror}") from exc
        _LOG.info("started %s (pid %s), log %s", self.name, self._process.pid, self.log_path)

    def restart(self) -> None:
        """Start the child again after it exited (its leftover helpers are killed first).

        Raises
        ------
        FederationError
            When the executable cannot be started.

        """
        if self._process is not None:
            self._signal_group(self._process.pid, signal.SIGKILL)
        if self._log is not None:
            self._log.close()
            self._log = None
        self.start()

    def exit_code(self) -> int | None:
        """The exit code if the child has ended, else ``None``."""
        return None if self._process is None else self._process.poll()

    def ensure_running(self) -> None:
        """Raise if the child has exited.

        Raises
        ------
        FederationError
            When the child ended; the message names its log.

        """
        code = self.exit_code()
        if code is not None:
            raise FederationError(f"{self.name} exited with code {code}; see {self.log_path}")

    def stop(self, grace_seconds: float = STOP_GRACE_SECONDS) -> int | None:
        """SIGTERM the child's process group, SIGKILL it after ``grace_seconds``; return its exit code."""
        process = self._process
        if process is None:
            return None
        if process.poll() is None:
            self._signal_group(process.pid, signal.SIGTERM)
            deadline = time.monotonic() + grace_seconds
            while process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)
            if process.poll() is None:
                _LOG.warning("%s did not stop within %.0f s; killing it", self.name, grace_seconds)
                self._signal_group(process.pid, signal.SIGKILL)
                process.wait()
        # Helpers the child spawned (superexec, app processes) share its group.
        self._signal_group(process.pid, signal.SIGKILL)
        if self._log is not None:
            self._log.close()
            self._log = None
        _LOG.info("%s stopped (exit code %s)", self.name, process.returncode)
        return process.returncode

    @staticmethod
    def _signal_group(pgid: int, signum: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signum)


def wait_until(
    predicate: Callable[[], bool], *, timeout: float, what: str, child: ChildProcess | None = None
) -> None:
    """Poll ``predicate()`` every 0.1 s until it is true.

    Raises
    ------
    FederationError
        When ``timeout`` passes first, or ``child`` exits meanwhile.

    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child is not None:
            child.ensure_running()
        if predicate():
            return
        time.sleep(0.1)
    raise FederationError(f"timed out after {timeout:.0f} s waiting for {what}")

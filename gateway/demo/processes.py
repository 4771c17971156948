"""Node processes started by the demo (and by the process tests): start, wait ready, stop."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from gateway.config import RUNTIME_FILE
from gateway.errors import UnavailableError

STARTUP_TIMEOUT_SECONDS = 60.0
# Beyond a node's own bound (shutdown_grace_seconds + gateway.node.shutdown.STOP_OVERRUN_SECONDS).
STOP_TIMEOUT_SECONDS = 30.0
ABORT_DUMP_SECONDS = 5.0


@dataclass
class NodeProcess:
    """A ``credgate bureau start`` or ``credgate node start`` child process."""

    member_id: str
    command: list[str]
    data_dir: Path
    log_path: Path
    # Extra environment, e.g. CREDGATE_FEDERATED=1 to start the node's Flower parts.
    environment: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = field(default=None, repr=False)

    @classmethod
    def for_config(
        cls, member_id: str, config: Path, data_dir: Path, log_path: Path, *, bureau: bool
    ) -> NodeProcess:
        """A process running the bureau or a member node from ``config``."""
        group = "bureau" if bureau else "node"
        command = [sys.executable, "-m", "gateway", "--log-json", group, "start", "--config", str(config)]
        return cls(member_id, command, data_dir, log_path)

    def start(self) -> None:
        """Start the process with its output appended to ``log_path``."""
        (self.data_dir / RUNTIME_FILE).unlink(missing_ok=True)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        # faulthandler: a node that will not stop gets SIGABRT, which writes every thread's stack to the log.
        env = {**os.environ, **self.environment, "PYTHONUNBUFFERED": "1", "PYTHONFAULTHANDLER": "1"}
        self.process = subprocess.Popen(self.command, stdout=self._log, stderr=subprocess.STDOUT, env=env)

    def wait_ready(self, timeout: float = STARTUP_TIMEOUT_SECONDS) -> str:
        """Wait until the node has written its runtime file; return its address.

        Raises
        ------
        UnavailableError
            When the process exits or does not come up in time (the log tail is quoted).

        """
        deadline = time.monotonic() + timeout
        runtime = self.data_dir / RUNTIME_FILE
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise UnavailableError(
                    f"{self.member_id} exited with {self.process.returncode}: {self.log_tail()}"
                )
            if runtime.exists():
                return str(json.loads(runtime.read_text(encoding="utf-8"))["address"])
            time.sleep(0.05)
        raise UnavailableError(f"{self.member_id} did not start within {timeout:.0f} s: {self.log_tail()}")

    def stop(self, timeout: float = STOP_TIMEOUT_SECONDS) -> int:
        """Send SIGTERM and wait; return the exit code.

        A process still running after ``timeout`` gets SIGABRT (its threads' stacks go to the
        log), then SIGKILL.
        """
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self._abort()
        if self._log is not None:
            self._log.close()
        return self.process.returncode

    def _abort(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGABRT)
        try:
            self.process.wait(ABORT_DUMP_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def log_tail(self, lines: int = 8) -> str:
        """The last lines the process wrote."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return " | ".join(text.strip().splitlines()[-lines:])

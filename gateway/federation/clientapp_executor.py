"""The member's ClientApp executor: takes its SuperNode's tasks and runs each run's in one warm worker.

A member's SuperNode runs with ``--isolation process``: it pulls messages from the
SuperLink and queues one task per message on its runtime API (loopback), but starts
nothing itself. The executor runs in a thread of the SuperNode process
(:mod:`gateway._internal.fast_supernode` starts it and wakes it as soon as a message and
its objects are stored), takes the task from that API's ``AcquireTask`` (as
``flower-superexec`` does) and passes the task's token to the worker of the task's run
(:mod:`gateway.federation.clientapp_worker`), starting one when the run has none.

One worker is kept started and idle (its imports done) so that even a run's first
message does not wait for an interpreter; a new spare is started once the node has had
no task for ``SPARE_AFTER_SECONDS``, so its imports do not compete with a run. A worker
whose run has sent nothing for ``RETIRE_SECONDS`` ends, as does the oldest when more
than ``MAX_RUN_WORKERS`` runs are live; a worker that dies is replaced at its run's next
task (the task it held fails as Flower's do when they expire: the SuperNode answers it
with an error). Workers are the SuperNode's children, in its process group, so stopping
the SuperNode stops them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO

from gateway.clock import Clock

__all__ = ["Executor", "Worker", "serve", "serve_in_thread", "task_wait"]

_LOG = logging.getLogger("credgate.clientapp_executor")
#: Without a wake-up the executor still asks for tasks this often (a missed wake-up costs no more).
FALLBACK_POLL_SECONDS = 1.0
SPARE_AFTER_SECONDS = 10.0
RETIRE_SECONDS = 300.0
MAX_RUN_WORKERS = 2


@dataclass
class Worker:
    """One worker process, the run it serves, and how many of its tasks are unfinished."""

    process: subprocess.Popen[str]
    run_id: int | None = None
    last_used: float = field(default_factory=time.monotonic)
    pending: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def start(cls, argv: list[str]) -> Worker:
        """Start a worker process; a thread counts its ``done``/``failed`` answers."""
        process = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
        )  # stderr: this process's own log.
        worker = cls(process)
        threading.Thread(target=worker._read, args=(process.stdout,), daemon=True).start()
        return worker

    @property
    def alive(self) -> bool:
        """Whether the process still runs."""
        return self.process.poll() is None

    def submit(self, token: str, *, waited: float) -> None:
        """Queue one task for the worker (it runs its tasks one after another)."""
        stdin = self.process.stdin
        if stdin is None:
            raise RuntimeError("worker started without a stdin pipe")
        with self._lock:
            self.pending += 1
        self.last_used = time.monotonic()
        stdin.write(f"{token} {waited:.4f}\n")
        stdin.flush()

    def close(self) -> None:
        """End the worker: closing its input ends its loop after the task in hand."""
        if self.process.stdin is not None and not self.process.stdin.closed:
            # If it already died there is nothing left to tell it.
            with contextlib.suppress(OSError):
                self.process.stdin.close()

    def _read(self, stdout: IO[str] | None) -> None:
        for line in stdout or ():
            if line.strip() in {"done", "failed"}:
                with self._lock:
                    self.pending = max(0, self.pending - 1)


@dataclass
class Executor:
    """Routes tasks to per-run workers; ``spawn`` starts a worker."""

    spawn: Callable[[], Worker]
    workers: dict[int, Worker] = field(default_factory=dict)
    spare: Worker | None = None
    last_task: float = float("-inf")

    def dispatch(self, run_id: int, token: str, *, waited: float) -> None:
        """Hand the task to its run's worker (the spare one, or a new one, for a new run)."""
        worker = self.workers.get(run_id)
        if worker is None or not worker.alive:
            if worker is not None:
                _LOG.warning("the worker of run %s died (exit %s); starting another", run_id,
                             worker.process.returncode)  # fmt: skip
            spare, self.spare = self.spare, None
            worker = spare if spare is not None and spare.alive else self.spawn()
            worker.run_id = run_id
            self.workers[run_id] = worker
            self._limit()
        worker.submit(token, waited=waited)
        self.last_task = time.monotonic()

    def tidy(self) -> None:
        """Retire workers of runs gone quiet; once the node is idle, keep one spare worker started."""
        now = time.monotonic()
        for run_id, worker in list(self.workers.items()):
            if not worker.alive or (worker.pending == 0 and now - worker.last_used > RETIRE_SECONDS):
                worker.close()
                del self.workers[run_id]
        if (self.spare is None or not self.spare.alive) and now - self.last_task > SPARE_AFTER_SECONDS:
            self.spare = self.spawn()

    def close(self) -> None:
        """End every worker."""
        for worker in [*self.workers.values(), *([self.spare] if self.spare else [])]:
            worker.close()

    def _limit(self) -> None:
        while len(self.workers) > MAX_RUN_WORKERS:
            oldest = min(self.workers, key=lambda run_id: self.workers[run_id].last_used)
            self.workers.pop(oldest).close()


def task_wait(pending_at: str, clock: Clock) -> float:
    """Seconds since the SuperNode queued a task (Flower's ISO ``pending_at``); 0 when unreadable."""
    try:
        queued = dt.datetime.fromisoformat(pending_at)
    except ValueError:
        return 0.0
    if queued.tzinfo is None:
        queued = queued.replace(tzinfo=dt.UTC)
    return max(0.0, (clock() - queued).total_seconds())


def serve(runtime_api_address: str, *, wake: threading.Event, clock: Clock) -> None:
    """Take every ClientApp task the SuperNode queues, waking on ``wake`` (and every second)."""
    from flwr.proto.runtime_pb2 import AcquireTaskRequest
    from flwr.supercore.constant import TaskType
    from flwr.supercore.interceptors import RuntimeVersionHttpInterceptor
    from flwr.supercore.retry import make_simple_http_retry_invoker
    from flwr.supercore.runtime import RuntimeHttpClient

    argv = [sys.executable, "-m", "gateway.federation.clientapp_worker",
            "--runtime-api-address", runtime_api_address]  # fmt: skip
    executor = Executor(lambda: Worker.start(argv))
    client = RuntimeHttpClient.from_server_address(
        server_address=runtime_api_address,
        insecure=True,
        root_certificates=None,
        interceptors=[RuntimeVersionHttpInterceptor(component_name="SuperExec")],
        retry_invoker=make_simple_http_retry_invoker(),
    )
    request = AcquireTaskRequest(supported_task_types=[TaskType.CLIENT_APP])
    try:
        while True:
            wake.wait(FALLBACK_POLL_SECONDS)
            wake.clear()  # Before asking: a message stored from now on wakes the next wait.
            try:
                while (response := client.AcquireTask(request)).HasField("task") and response.token:
                    waited = task_wait(response.task.pending_at, clock)
                    executor.dispatch(response.task.run_id, response.token, waited=waited)
                executor.tidy()
            except Exception:
                # The runtime API not up yet, or a worker that cannot start: logged, tried again.
                _LOG.exception("the ClientApp executor could not take or hand over a task")
    finally:
        executor.close()
        client.close()


def serve_in_thread(runtime_api_address: str, *, wake: threading.Event, clock: Clock) -> threading.Thread:
    """Run :func:`serve` in a daemon thread of this (the SuperNode's) process."""
    thread = threading.Thread(
        target=serve,
        args=(runtime_api_address,),
        kwargs={"wake": wake, "clock": clock},
        name="clientapp-executor",
        daemon=True,
    )
    thread.start()
    return thread

"""The ClientApp executor's routing: one worker per run, a warm spare, dead and idle workers replaced."""

from __future__ import annotations

import datetime as dt
import itertools
import sys
import time
from collections.abc import Callable, Iterator

import pytest

from gateway._internal.fast_supernode import Pace, paced_time
from gateway.clock import system_clock
from gateway.federation import clientapp_executor
from gateway.federation.clientapp_executor import Executor, Worker, task_wait
from gateway.federation.clientapp_worker import DONE, FAILED, READY, serve

# A stand-in worker process: answers "done" to every line, as the real worker does after a task.
ECHO = [sys.executable, "-c", "import sys\nfor line in sys.stdin:\n    print('done', flush=True)"]


def wait_for(predicate: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


@pytest.fixture
def executor() -> Iterator[Executor]:
    started: list[Worker] = []

    def spawn() -> Worker:
        worker = Worker.start(ECHO)
        started.append(worker)
        return worker

    made = Executor(spawn)
    yield made
    made.close()
    for worker in started:
        worker.process.wait(timeout=30)


def test_a_runs_tasks_share_one_worker_and_the_spare_takes_a_new_run(
    executor: Executor, monkeypatch: pytest.MonkeyPatch
) -> None:
    executor.tidy()
    spare = executor.spare
    assert spare is not None

    executor.dispatch(7, "token-a", waited=0.0)
    executor.dispatch(7, "token-b", waited=0.0)
    executor.dispatch(8, "token-c", waited=0.0)

    assert executor.workers[7] is spare  # the run's first task did not wait for a new interpreter
    assert executor.workers[8] is not spare
    wait_for(lambda: executor.workers[7].pending == 0 and executor.workers[8].pending == 0)
    assert executor.spare is None
    executor.tidy()
    assert executor.spare is None  # no new spare while a run is busy: its imports would compete
    monkeypatch.setattr(clientapp_executor, "SPARE_AFTER_SECONDS", 0.0)
    executor.tidy()
    assert executor.spare is not None and executor.spare not in executor.workers.values()


def test_a_dead_worker_is_replaced_at_its_runs_next_task(executor: Executor) -> None:
    executor.dispatch(1, "token-a", waited=0.0)
    first = executor.workers[1]
    first.process.kill()
    first.process.wait(timeout=30)

    executor.dispatch(1, "token-b", waited=0.0)

    assert executor.workers[1] is not first and executor.workers[1].alive


def test_workers_of_quiet_or_surplus_runs_are_ended(
    executor: Executor, monkeypatch: pytest.MonkeyPatch
) -> None:
    for run_id in range(clientapp_executor.MAX_RUN_WORKERS + 1):
        executor.dispatch(run_id, "token", waited=0.0)
    assert 0 not in executor.workers  # the least recently used run's worker went first
    assert len(executor.workers) == clientapp_executor.MAX_RUN_WORKERS
    wait_for(lambda: all(w.pending == 0 for w in executor.workers.values()))

    monkeypatch.setattr(clientapp_executor, "RETIRE_SECONDS", 0.0)
    executor.tidy()

    assert executor.workers == {}


def test_task_wait_reads_flowers_pending_time() -> None:
    now = system_clock()
    queued = (now - dt.timedelta(seconds=2)).isoformat()

    assert task_wait(queued, lambda: now) == pytest.approx(2.0)
    assert task_wait("not a time", lambda: now) == 0.0


class FakeRunner:
    def __init__(self, outcomes: list[bool | type[BaseException]]) -> None:
        self.outcomes = outcomes
        self.calls: list[tuple[str, float]] = []

    def run(self, token: str, *, waited: float = 0.0) -> bool:
        self.calls.append((token, waited))
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, type):
            raise outcome
        return outcome


def test_worker_loop_answers_each_task_and_survives_a_withdrawn_one() -> None:
    lines = iter(["t1 0.5\n", "\n", "t2 0\n", "t3 0.1\n", ""])
    said: list[str] = []
    runner = FakeRunner([True, KeyboardInterrupt, False])

    serve(runner, lambda: next(lines), said.append)  # type: ignore[arg-type]

    assert runner.calls == [("t1", 0.5), ("t2", 0.0), ("t3", 0.1)]
    assert said == [READY, DONE, FAILED, FAILED]


def test_the_supernodes_idle_pause_grows_while_nothing_comes_and_restarts_short_after_a_message() -> None:
    pace = Pace(first=0.05, cap=2.0)
    slept: list[float] = []
    paced = paced_time(pace, sleep=slept.append)

    for _ in range(30):
        paced.sleep(3)  # Flower's idle wait after an empty pull
    paced.sleep(0.5)  # Flower's wait for the reply of a message in hand
    paced.sleep(3)
    paced.sleep(1.25)  # any other wait is left alone

    idle = slept[:30]
    assert idle[0] == pytest.approx(0.05) and all(b >= a for a, b in itertools.pairwise(idle))
    assert max(idle) == pytest.approx(2.0)
    assert slept[30:] == [pytest.approx(0.01), pytest.approx(0.05), 1.25]
    assert paced.monotonic is time.monotonic

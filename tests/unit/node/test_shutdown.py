"""SIGTERM always ends a node's process, within its budget (gateway.node.shutdown).

Each case runs :func:`run_until_signalled` in a real child process and signals it for real.
The node is a stand-in whose ``stop`` behaves as a stuck node's would: the watchdog, not the
node, is what is under test here (tests/faults/test_shutdown.py stops real nodes).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from gateway.node.shutdown import EXIT_STOP_OVERRAN, STOP_OVERRUN_SECONDS

GRACE_SECONDS = 0.5
# Liveness bounds, not timings: the budget plus a loaded machine's process start and teardown.
EXIT_WAIT_SECONDS = GRACE_SECONDS + STOP_OVERRUN_SECONDS + 30

CHILD = """
import threading, time, signal, sys
from gateway.node.shutdown import run_until_signalled

class Node:
    def stop(self):
        if {stop_hangs}:
            threading.Event().wait()

if {non_daemon_thread_hangs}:
    threading.Thread(target=threading.Event().wait, name="stuck-worker").start()
if {signal_a_worker_thread}:
    # The kernel may hand a process's SIGTERM to any thread that does not block it.
    def worker():
        while signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
            time.sleep(0.05)
        time.sleep(0.2)
        signal.pthread_kill(threading.get_ident(), signal.SIGTERM)
    threading.Thread(target=worker, daemon=True).start()
print("serving", flush=True)
run_until_signalled(Node(), grace_seconds={grace})
"""


def _start(tmp_path: Path, **behaviour: bool) -> tuple[subprocess.Popen[bytes], Path]:
    log = tmp_path / "node.log"
    script = textwrap.dedent(CHILD).format(grace=GRACE_SECONDS, **behaviour)
    process = subprocess.Popen(
        [sys.executable, "-c", script], stdout=log.open("wb"), stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 60
    while b"serving" not in log.read_bytes():
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, "the child did not start"
        time.sleep(0.05)
    return process, log


@pytest.mark.parametrize(
    ("stop_hangs", "non_daemon_thread_hangs", "expected_code"),
    [(False, False, 0), (True, False, EXIT_STOP_OVERRAN), (False, True, 0)],
    ids=["clean", "stop_hangs", "teardown_hangs"],
)
def test_sigterm_ends_the_process_whatever_hangs(
    tmp_path: Path, stop_hangs: bool, non_daemon_thread_hangs: bool, expected_code: int
) -> None:
    process, log = _start(
        tmp_path,
        stop_hangs=stop_hangs,
        non_daemon_thread_hangs=non_daemon_thread_hangs,
        signal_a_worker_thread=False,
    )
    process.send_signal(signal.SIGTERM)
    try:
        code = process.wait(EXIT_WAIT_SECONDS)
    finally:
        process.kill()
    text = log.read_text(encoding="utf-8", errors="replace")
    assert code == expected_code, text
    if stop_hangs:
        # What hung is in the log: every thread's stack.
        assert "stop_overran" in text, text
        assert "Thread 0x" in text, text


def test_a_sigterm_delivered_to_a_worker_thread_still_stops_the_node(tmp_path: Path) -> None:
    """Before the main thread polled, it slept in an untimed wait that only a signal delivered
    to it could interrupt: this child then never stopped (killed at the bound, exit -9)."""
    process, log = _start(
        tmp_path, stop_hangs=False, non_daemon_thread_hangs=False, signal_a_worker_thread=True
    )
    try:
        code = process.wait(EXIT_WAIT_SECONDS)
    finally:
        process.kill()
    assert code == 0, log.read_text(encoding="utf-8", errors="replace")

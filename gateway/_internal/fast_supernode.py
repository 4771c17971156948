"""``flower-supernode`` with a short idle poll: a labelled hack over flwr 1.41 (and 1.42).

A SuperNode whose pull finds no message sleeps a hard-coded 3 s
(``flwr/supernode/start_client_internal.py``: ``time.sleep(3)``) before pulling again, and
a SecAgg+ aggregation needs four rounds of messages, so a member spent most of every
aggregation asleep. No flag or variable changes it (flwr 1.42 still has it), so this
entry point replaces the ``time`` module *of that one Flower module* with one whose
``sleep(3)`` sleeps ``CREDGATE_SUPERNODE_POLL`` seconds (default 0.2) and whose other
functions are the standard ones, then runs Flower's own ``flower-supernode``. Nothing
else in the SuperNode changes; the fleet gateway sees at most one pull per poll.
Remove it when Flower makes the poll configurable.
"""

from __future__ import annotations

import os
import sys
import time
from types import SimpleNamespace

POLL_ENV = "CREDGATE_SUPERNODE_POLL"
DEFAULT_POLL_SECONDS = 0.2
_FLOWER_IDLE_SLEEP = 3


def _patched_time(poll: float) -> SimpleNamespace:
    def sleep(seconds: float) -> None:
        time.sleep(poll if seconds == _FLOWER_IDLE_SLEEP else seconds)

    names = {name: getattr(time, name) for name in dir(time) if not name.startswith("__")}
    return SimpleNamespace(**{**names, "sleep": sleep})


def main() -> int:
    """Patch the idle poll and run Flower's ``flower-supernode`` with this process's argv."""
    from flwr.supernode import start_client_internal
    from flwr.supernode.cli import flower_supernode

    poll = float(os.environ.get(POLL_ENV, DEFAULT_POLL_SECONDS))
    setattr(start_client_internal, "time", _patched_time(poll))  # noqa: B010  # the labelled hack
    sys.argv[0] = "flower-supernode"
    flower_supernode()
    return 0


if __name__ == "__main__":
    sys.exit(main())

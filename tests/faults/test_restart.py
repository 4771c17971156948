"""A restarted bureau comes back where its members find it (#17 item 7).

The demo's bureau listens on port 0; restarted, it got a new port and members, whose
configuration names the first one, never found it again. A node listening on port 0 now
reuses the port it had (kept in its data_dir).
"""

from __future__ import annotations

import time

import pytest

from gateway.clock import system_clock
from gateway.identity.peer import Role

from .conftest import Processes

pytestmark = [pytest.mark.processes, pytest.mark.slow]


def test_a_bureau_restarted_on_port_0_comes_back_where_members_find_it(processes: Processes) -> None:
    bureau_settings, bureau, address = processes.bureau()
    processes.member("bank-1", Role.BANK, address)
    consortium = processes.consortium(bureau_settings, bureau, address)
    consortium.wait_registered()

    assert bureau.stop() == 0, bureau.log_tail(80)
    restarted_at = system_clock()
    bureau.start()
    again = bureau.wait_ready()
    deadline = time.monotonic() + 60
    seen = None
    while time.monotonic() < deadline:
        seen = next(v.last_seen_at for v in consortium.directory() if v.member_id == "bank-1")
        if seen is not None and seen > restarted_at:
            break
        time.sleep(0.3)

    assert again == address
    assert seen is not None and seen > restarted_at, "the member did not reach the restarted bureau"

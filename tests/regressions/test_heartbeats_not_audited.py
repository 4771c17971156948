"""Regression (issue #17 item 14): every heartbeat was written to the bureau's audit log (89 % of
its rows, never pruned). Allowed heartbeats and transparency plumbing now stay out of it; a refused
heartbeat is still audited."""

from __future__ import annotations

import time
from collections.abc import Callable

import sqlalchemy as sa

from gateway.node.runtime import RunningNode
from gateway.store.models import AuditRecord
from gateway.store.repositories.members import MemberDirectory


def actions(node: RunningNode) -> list[str]:
    with node.store.transaction() as session:
        return list(session.scalars(sa.select(AuditRecord.action)))


def test_many_heartbeats_leave_no_audit_entry(
    bureau: RunningNode, start_members: Callable[..., RunningNode]
) -> None:
    bank = start_members("bank-1")
    assert bank.link is not None and bank.link.registered.wait(30)
    first = MemberDirectory(bureau.store).get("bank-1").last_seen_at
    deadline = time.monotonic() + 60
    # Heartbeats every 0.2 s: wait for several to have arrived (load-independent: a deadline, no timing).
    while MemberDirectory(bureau.store).get("bank-1").last_seen_at == first and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)

    recorded = actions(bureau)

    assert MemberDirectory(bureau.store).get("bank-1").last_seen_at != first
    assert "credgate.v1.BureauService/Register" in recorded
    assert not [a for a in recorded if a.endswith(("/Heartbeat", "/GetCheckpoints", "/AddCosignatures"))]

"""A bureau and three banks in-process, witnessing each other every half second."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import grpc
import pytest

from gateway.clock import system_clock
from gateway.config import Settings
from gateway.demo.provision import BUREAU_ID
from gateway.identity.peer import Role
from gateway.node.runtime import RunningNode, start_bureau, start_member
from gateway.store.database import Store
from gateway.store.enums import AuditDecision
from gateway.store.repositories.audit import AuditLog
from gateway.tlog.checkpoints import CheckpointStore
from gateway.tlog.keys import KEY_LOG_ORIGIN, audit_origin

MEMBERS = ("bank-1", "bank-2", "bank-3")
DEADLINE_SECONDS = 90.0
T = TypeVar("T")


def wait_for(condition: Callable[[], T | None], what: str, *, timeout: float = DEADLINE_SECONDS) -> T:
    """Poll until ``condition`` returns something truthy (generous deadline: load-independent)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def add_entries(store: Store, count: int) -> None:
    """Audit decisions as a node takes them (references only)."""
    log = AuditLog(store)
    for i in range(count):
        log.append(
            actor_member_id="bank-9",
            actor_role="bank",
            action="credgate.v1.MemberService/ComputeSubjectVectors",
            resource="node",
            decision=AuditDecision.ALLOW,
            reason="fabric.fanout-from-bureau-only",
            correlation_id=f"c{i:04d}",
            details={"rows": i},
            at=system_clock(),
        )


@dataclass
class Witnessed:
    bureau: RunningNode
    members: dict[str, RunningNode]
    settings: dict[str, Settings]
    bureau_settings: Settings
    equivocator: Equivocator

    def checkpoints(self, member_id: str) -> CheckpointStore:
        node = self.bureau if member_id == BUREAU_ID else self.members[member_id]
        return CheckpointStore(node.store, clock=system_clock)

    def cosigned_by_others(self, member_id: str, size: int) -> list[str] | None:
        """Witness names on member_id's own checkpoint of at least ``size`` (as the member holds it)."""
        latest = self.checkpoints(member_id).latest(audit_origin(member_id))
        if latest is None or latest.checkpoint.size < size:
            return None
        names = [line.name for line in latest.note.signatures if line.name.startswith("credgate/witness/")]
        return names if len(names) >= len(MEMBERS) - 1 else None

    def key_log_witnessed(self) -> bool:
        return all(self.checkpoints(m).witnessed(KEY_LOG_ORIGIN) is not None for m in MEMBERS)


@pytest.fixture
def witnessed(provision: Callable[..., Settings]) -> Iterator[Witnessed]:
    bureau_settings = provision(BUREAU_ID, Role.BUREAU, heartbeat_seconds=0.5)
    equivocator = Equivocator()
    bureau = start_bureau(bureau_settings, interceptors=[equivocator])
    settings = {
        m: provision(m, Role.BANK, bureau_address=bureau.address, heartbeat_seconds=0.5) for m in MEMBERS
    }
    members: dict[str, RunningNode] = {}
    try:
        for member_id, member_settings in settings.items():
            members[member_id] = start_member(member_settings)
        world = Witnessed(bureau, members, settings, bureau_settings, equivocator)
        wait_for(world.key_log_witnessed, "every member to co-sign the key log")
        yield world
    finally:
        for node in members.values():
            node.stop()
        bureau.stop()


class Equivocator(grpc.ServerInterceptor):
    """A deviating bureau: adds forged publications to GetCheckpoints answers for one member."""

    def __init__(self) -> None:
        self.forged: dict[str, list[str]] = {}

    def intercept_service(self, continuation, details):  # type: ignore[no-untyped-def]
        from gateway.rpc.interceptors import current_peer
        from gateway.rpc.interceptors.wrapping import rewrap

        if not details.method.endswith("/GetCheckpoints"):
            return continuation(details)

        def wrap(behaviour, requests_stream, responses_stream):  # type: ignore[no-untyped-def]
            def forged(request, context):  # type: ignore[no-untyped-def]
                response = behaviour(request, context)
                extra = self.forged.get(current_peer(context).member_id, [])
                if extra:
                    response.publications.extend(extra)
                return response

            return forged

        return rewrap(continuation(details), wrap)

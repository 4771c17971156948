"""The member's fleet gateway scans every body its SuperNode sends for this node's own identifiers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest

from gateway.audit import AuditRecorder
from gateway.clock import system_clock
from gateway.config import Settings
from gateway.egress.index import ExactMatchIndex
from gateway.egress.opaque import OpaqueEgress
from gateway.federation.member_gateway import BundleGuard, MemberFleetGateway
from gateway.federation.routes import METHOD_BY_PATH
from gateway.identity.peer import Role
from gateway.store import Store, open_store
from gateway.store.repositories.audit import AuditLog

MOBILE = "13800138000"
PUSH = next(path for path, method in METHOD_BY_PATH.items() if method.endswith("/PushMessages"))


@pytest.fixture
def gateway(provision: Callable[..., Settings], tmp_path: Path) -> Iterator[tuple[MemberFleetGateway, Store]]:
    settings = provision("bank-1", Role.BANK)
    store = open_store(f"sqlite:///{tmp_path / 'audit.db'}")
    index = ExactMatchIndex(bytes(32))
    index.rebuild([MOBILE])
    audit = AuditRecorder(AuditLog(store), node_id="bank-1", clock=system_clock)
    # The relay address answers nothing: a body that were forwarded would fail as unavailable.
    channel = grpc.insecure_channel("127.0.0.1:9")
    guard = BundleGuard(tmp_path / "bundles.toml")
    opaque = OpaqueEgress(index, audit, node_id="bank-1", node_role="bank")
    yield MemberFleetGateway(settings.tls, channel, guard, egress=opaque), store
    channel.close()
    store.close()


def test_a_body_holding_a_borrowers_mobile_is_refused_before_it_is_forwarded(
    gateway: tuple[MemberFleetGateway, Store],
) -> None:
    fleet, store = gateway
    masked = bytes(range(256)) * 64  # ciphertext-like bytes around the leak
    status, body = fleet.relay(PUSH, masked + f"note {MOBILE}".encode() + masked, [])

    assert status == 403 and b"egress guard" in body
    entry = AuditLog(store).entries()[-1]
    assert (entry.action, entry.reason) == ("egress.opaque_blocked", "exact-match index")
    assert MOBILE not in str(entry)


def test_masked_traffic_is_forwarded(gateway: tuple[MemberFleetGateway, Store]) -> None:
    fleet, store = gateway
    status, _ = fleet.relay(PUSH, bytes(range(256)) * 256, [])

    assert status != 403  # forwarded (and then unavailable: nobody listens at the test relay)
    assert AuditLog(store).entries() == []

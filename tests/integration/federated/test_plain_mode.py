"""Clear replies happen only when both the run and the member's own node config allow them."""

from __future__ import annotations

import pytest
from flwr.app import Message

from federated.apps.client import app as client
from federated.apps.server import app as server
from federated.errors import FederatedRunError
from federated.inprocess import run_inprocess

from .conftest import csv_members


def test_members_refuse_clear_replies_unless_their_node_config_allows_them() -> None:
    received: list[Message] = []
    with pytest.raises(FederatedRunError, match="profile: expected at least 3 members, 0 contributed"):
        run_inprocess(
            server,
            client,
            node_configs=csv_members(3),
            run_config={"rounds": 1, "model": "lr", "secagg": False},
            observe=received.append,
        )
    assert len(received) == 3
    assert all(reply.has_error() for reply in received)
    # The error reply carries a fixed message (member, phase, reason class), never the exception text.
    reasons = sorted(reply.error.reason for reply in received)
    for node, reason in zip((101, 102, 103), reasons, strict=True):
        assert f"credgate-failure member=node-{node} phase=profile reason=clear_reply_refused" in reason


def test_plain_mode_sends_vectors_in_clear_which_the_secagg_test_would_catch() -> None:
    received: list[Message] = []
    nodes = {node: {**config, "allow-plain": True} for node, config in csv_members(3).items()}
    run_inprocess(
        server,
        client,
        node_configs=nodes,
        run_config={"rounds": 1, "model": "lr", "secagg": False},
        observe=received.append,
    )
    assert received
    assert all(any(len(r) > 0 for r in reply.content.array_records.values()) for reply in received)

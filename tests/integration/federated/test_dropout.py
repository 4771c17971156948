"""A member that drops in the middle of a SecAgg+ round does not stop the round."""

from __future__ import annotations

import json
from pathlib import Path

from flwr.app import Context, Message
from flwr.client import ClientApp
from flwr.clientapp.typing import ClientAppCallable

from federated.apps.client import client_fn
from federated.apps.server import app as server
from federated.egress_mod import egress_mod
from federated.inprocess import run_inprocess
from federated.lanes_mod import lanes_mod
from federated.secagg_gate import secagg_gate_mod

from .conftest import csv_members

DROPPING_NODE = 102


def drop_in_round_one(message: Message, context: Context, call_next: ClientAppCallable) -> Message:
    # The member goes away after the key exchange of round 1's training, before sending
    # its masked vector: SecAgg+ must recover the pairwise masks it shared with the others.
    configs = message.content.config_records.get("secaggplus_configs")
    fitins = message.content.config_records.get("fitins.config")
    if (
        context.node_id == DROPPING_NODE
        and configs is not None
        and configs.get("stage") == "collect_masked_vectors"
        and fitins is not None
        and fitins.get("phase") == "train"
        and fitins.get("round") == 1
    ):
        raise ConnectionError("member went away")
    return call_next(message, context)


def test_member_dropping_mid_round_does_not_stop_it(tmp_path: Path) -> None:
    client = ClientApp(client_fn=client_fn, mods=[lanes_mod, egress_mod, drop_in_round_one, secagg_gate_mod])
    run_inprocess(
        server,
        client,
        node_configs=csv_members(4),
        run_config={"rounds": 2, "model": "lr", "output-dir": str(tmp_path), "min-members": 3},
    )
    rounds = json.loads((tmp_path / "results.json").read_text())["rounds"]
    assert [r["members"] for r in rounds] == [4, 3, 4]
    assert rounds[1]["auc"] > rounds[0]["auc"]


def test_run_fails_when_too_few_members_remain_and_says_so(tmp_path: Path) -> None:
    import pytest

    from federated.errors import FederatedRunError

    client = ClientApp(client_fn=client_fn, mods=[lanes_mod, egress_mod, drop_in_round_one, secagg_gate_mod])
    with pytest.raises(FederatedRunError, match="expected at least 4 members, 3 contributed"):
        run_inprocess(
            server,
            client,
            node_configs=csv_members(4),
            run_config={"rounds": 1, "model": "lr", "min-members": 4, "output-dir": str(tmp_path)},
        )
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["status"] == "failed"
    assert [r["round"] for r in results["rounds"]] == [0]

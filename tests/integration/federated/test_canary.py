"""Canary: PII seeded in members' stores never appears in any reply a member sends during a run.

Members read their rows from their own SQLite stores (``store-url``) holding seeded
resident IDs, mobiles and names. A recording mod, outermost in the ClientApp, keeps
every reply exactly as it leaves; every string and integer it carries (and every
integral float) is searched for the seeded values in several encodings. Bytes are
excluded: public keys, ciphertexts and masked vectors are random.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from flwr.app import ConfigRecord, Message, RecordDict
from flwr.client import ClientApp
from flwr.supercore.task_identity import TaskIdentity

from federated.apps.client import client_fn
from federated.apps.server import app as server
from federated.egress_mod import check_reply, egress_mod, node_index
from federated.egress_schema import load_flower_egress
from federated.inprocess import run_inprocess
from federated.lanes_mod import lanes_mod
from federated.secagg_gate import secagg_gate_mod
from gateway.egress.guard import EgressBlocked
from gateway.synth.uci import load_dataset

from .conftest import DATA
from .recording import RecordingMod, plaintext_values
from .stores import AS_OF, build_store

ROWS_PER_MEMBER = 250


def encodings(value: str) -> set[str]:
    return {value, value.lower(), base64.b64encode(value.encode()).decode(), value.encode().hex()}


def leaks(replies: list[Message], seeded: list[str]) -> list[str]:
    values = [v for reply in replies for v in plaintext_values(reply)]
    forms = {form: seed for seed in seeded for form in encodings(seed)}
    return sorted({seed for value in values for form, seed in forms.items() if form in value})


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[int, str], list[str]]:
    rows = list(load_dataset(DATA).rows[: 3 * ROWS_PER_MEMBER])
    folder = tmp_path_factory.mktemp("stores")
    urls: dict[int, str] = {}
    seeded: list[str] = []
    for i in range(3):
        url, values = build_store(
            folder / f"m{i}.db", rows[i * ROWS_PER_MEMBER : (i + 1) * ROWS_PER_MEMBER], seed=i
        )
        urls[201 + i] = url
        seeded += values
    return urls, seeded


def test_no_seeded_pii_leaves_a_member(stores: tuple[dict[int, str], list[str]], tmp_path: Path) -> None:
    urls, seeded = stores
    recorder = RecordingMod()
    client = ClientApp(client_fn=client_fn, mods=[recorder, lanes_mod, egress_mod, secagg_gate_mod])
    run_inprocess(
        server,
        client,
        node_configs={node: {"store-url": url} for node, url in urls.items()},
        run_config={"rounds": 1, "model": "lr", "as-of": AS_OF.isoformat(), "output-dir": str(tmp_path)},
    )
    # Every envelope each of the 3 members answered (two SecAgg+ exchanges per aggregation, plus
    # the first aggregation's key stages).
    exchanges = json.loads((tmp_path / "results.json").read_text())["timing"]["exchanges"]
    assert exchanges > 0 and len(recorder.replies) == 3 * exchanges
    assert not any(reply.has_error() for reply in recorder.replies)
    assert leaks(recorder.replies, seeded) == []


def test_the_scan_finds_a_seeded_value_when_one_is_sent(stores: tuple[dict[int, str], list[str]]) -> None:
    # The canary can fail: a reply quoting a seeded mobile is found by the scan, and the
    # egress mod's check refuses to send it.
    urls, seeded = stores
    mobile = seeded[1]
    TaskIdentity.task_id, TaskIdentity.run_id, TaskIdentity.node_id = 1, 1, 1
    request = Message(RecordDict(), 201, "train", group_id="1")
    request.metadata.__dict__["_message_id"] = "m1"
    reply = Message(
        RecordDict({"fitres.status": ConfigRecord({"code": 0, "message": f"saw {mobile}"})}), reply_to=request
    )
    assert leaks([reply], seeded) == [mobile]
    with pytest.raises(EgressBlocked, match="exact-match index"):
        check_reply(reply, load_flower_egress(), node_index(urls[201]))

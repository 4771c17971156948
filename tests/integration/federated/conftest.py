"""A shared in-process federated run over four CSV members (SecAgg+ on), recorded at the server."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flwr.app import Message

from gateway.synth.books import BOOKS

os.environ.setdefault("FLWR_TELEMETRY_ENABLED", "0")
os.environ.setdefault("FLWR_DISABLE_UPDATE_CHECK", "1")

DATA = Path(__file__).resolve().parents[3] / "data" / "uci_taiwan_default.csv"
MEMBERS = 4
SEGMENT = BOOKS["uci"].segment_column


def csv_members(count: int = MEMBERS) -> dict[int, dict[str, Any]]:
    return {
        node_id: {
            "features-csv": str(DATA),
            "partition-by": str(SEGMENT),
            "partition-id": i,
            "num-partitions": count,
        }
        for i, node_id in enumerate(range(101, 101 + count))
    }


@dataclass
class RecordedRun:
    results: dict[str, Any]
    received: list[Message] = field(default_factory=list)


@pytest.fixture(scope="session")
def recorded_run(tmp_path_factory: pytest.TempPathFactory) -> RecordedRun:
    import json

    from federated.apps.client import app as client
    from federated.apps.server import app as server
    from federated.inprocess import run_inprocess

    out = tmp_path_factory.mktemp("run")
    received: list[Message] = []
    run_inprocess(
        server,
        client,
        node_configs=csv_members(),
        run_config={"rounds": 3, "model": "mlp", "output-dir": str(out), "min-members": 3},
        observe=received.append,
    )
    return RecordedRun(json.loads((out / "results.json").read_text()), received)

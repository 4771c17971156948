"""ServerApp: FedAvg over the SuperNodes, progress per round and results into output-dir."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
from flwr.app import ArrayRecord, ConfigRecord, Context, Message, MessageType, RecordDict
from flwr.serverapp import Grid, ServerApp

from credgate_fedtest.task import FEATURES, auc, member_data

app = ServerApp()


@app.main()
def main(grid: Grid, context: Context) -> None:
    """Wait for min-members SuperNodes, run ``rounds`` of FedAvg, write results.json."""
    config = context.run_config
    out = Path(str(config["output-dir"]))
    out.mkdir(parents=True, exist_ok=True)
    rounds, min_nodes = int(config["rounds"]), int(config["min-members"])
    deadline = time.monotonic() + float(config["node-wait-seconds"])
    nodes = list(grid.get_node_ids())
    while len(nodes) < min_nodes:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {len(nodes)} of {min_nodes} SuperNodes connected")
        time.sleep(0.5)
        nodes = list(grid.get_node_ids())
    x_test, y_test = member_data("held-out", rows=2000)
    weights = np.zeros(FEATURES)
    initial = auc(weights + 1e-9 * np.arange(FEATURES), x_test, y_test)
    history = []
    for server_round in range(1, rounds + 1):
        started = time.monotonic()
        content = RecordDict(
            {"weights": ArrayRecord([weights]), "config": ConfigRecord({"round": server_round})}
        )
        messages = [
            Message(
                content,
                dst_node_id=node,
                message_type=MessageType.TRAIN,
                group_id=str(server_round),
            )
            for node in nodes
        ]
        replies = [
            r
            for r in grid.send_and_receive(messages, timeout=float(config["round-timeout"]))
            if r.has_content()
        ]
        if len(replies) < min_nodes:
            raise RuntimeError(f"round {server_round}: {len(replies)} of {len(nodes)} replies")
        counts = np.array([float(r.content.metric_records["metrics"]["num-examples"]) for r in replies])  # type: ignore[arg-type]
        stacked = np.stack([r.content.array_records["weights"].to_numpy_ndarrays()[0] for r in replies])
        weights = (stacked * counts[:, None]).sum(axis=0) / counts.sum()
        entry = {"round": server_round, "of": rounds, "auc": auc(weights, x_test, y_test),
                 "replies": len(replies), "seconds": round(time.monotonic() - started, 3)}  # fmt: skip
        history.append(entry)
        _write(out, {"status": "running", "initial_auc": initial, "rounds": history})
    final = {"auc": history[-1]["auc"]}
    _write(out, {"status": "finished", "initial_auc": initial, "rounds": history, "final": final})


def _write(out: Path, results: dict[str, object]) -> None:
    """Rewrite results.json atomically (credgate train reads it while the run goes on)."""
    temporary = out / "results.json.tmp"
    temporary.write_text(json.dumps(results, indent=2), encoding="utf-8")
    temporary.replace(out / "results.json")

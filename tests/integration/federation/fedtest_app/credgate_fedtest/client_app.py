"""ClientApp: trains on this member's data; requires the node config credgate's SuperNode sets."""

from __future__ import annotations

import numpy as np
from flwr.app import ArrayRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp

from credgate_fedtest.task import member_data, train

app = ClientApp()


@app.train()
def fit(msg: Message, context: Context) -> Message:
    """One local training pass from the global weights."""
    if not str(context.node_config.get("store-url", "")):
        raise RuntimeError("the SuperNode did not pass store-url")
    x, y = member_data(str(context.node_config["member-id"]))
    weights = msg.content.array_records["weights"].to_numpy_ndarrays()[0].astype(np.float64)
    updated = train(weights, x, y, steps=int(context.run_config["local-steps"]))
    content = RecordDict(
        {"weights": ArrayRecord([updated]), "metrics": MetricRecord({"num-examples": len(y)})}
    )
    return Message(content=content, reply_to=msg)

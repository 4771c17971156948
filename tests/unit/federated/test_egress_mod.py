from __future__ import annotations

import os

import numpy as np
import pytest
from flwr.app import Array, ArrayRecord, ConfigRecord, Message, MetricRecord, RecordDict
from flwr.supercore.task_identity import TaskIdentity

from federated.egress_mod import check_reply
from federated.egress_schema import load_flower_egress
from gateway.egress.guard import EgressBlocked
from gateway.egress.index import ExactMatchIndex

SCHEMA = load_flower_egress()
MOBILE = "13812345678"


def index() -> ExactMatchIndex:
    built = ExactMatchIndex(os.urandom(32))
    built.rebuild([MOBILE, "张伟"])
    return built


def reply(content: RecordDict, message_type: str = "train") -> Message:
    TaskIdentity.task_id, TaskIdentity.run_id, TaskIdentity.node_id = 1, 1, 1
    request = Message(RecordDict(), 7, message_type, group_id="1")
    request.metadata.__dict__["_message_id"] = "m1"
    return Message(content, reply_to=request)


def secagg_reply(**extra: object) -> RecordDict:
    configs = {"masked_params": [b"\x00" * 8], **extra}
    return RecordDict(
        {
            "fitres.parameters": ArrayRecord(),
            "fitres.num_examples": MetricRecord({"num_examples": 1}),
            "fitres.metrics": ConfigRecord({}),
            "fitres.status": ConfigRecord({"code": 0, "message": "Success"}),
            "secaggplus_configs": ConfigRecord(configs),  # type: ignore[arg-type]
        }
    )


def test_a_secagg_reply_passes() -> None:
    check_reply(reply(secagg_reply()), SCHEMA, index())


@pytest.mark.parametrize(
    ("content", "detector"),
    [
        (RecordDict({"fitres.num_examples": MetricRecord({"num_examples": 4800})}), "valid one"),
        (RecordDict({"fitres.metrics": ConfigRecord({"auc": 0.7})}), "undeclared field"),
        (RecordDict({"member_stats": ConfigRecord({"n": 1})}), "undeclared record"),
        (
            RecordDict({"fitres.status": ConfigRecord({"code": 0, "message": f"row of {MOBILE}"})}),
            "exact-match",
        ),
        (RecordDict({"fitres.status": ConfigRecord({"code": 0, "message": "客户张伟"})}), "exact-match"),
        (RecordDict({"fitres.status": ConfigRecord({"code": int(MOBILE), "message": ""})}), "exact-match"),
        (
            RecordDict({"fitres.parameters": ArrayRecord({"0": Array(np.array([1.0, float(MOBILE)]))})}),
            "exact-match",
        ),
        (RecordDict({"fitres.parameters": ArrayRecord({"0": Array(np.array([1, 2]))})}), "float_vector"),
    ],
)
def test_undeclared_or_identifying_content_is_blocked(content: RecordDict, detector: str) -> None:
    with pytest.raises(EgressBlocked, match=detector):
        check_reply(reply(content), SCHEMA, index())


def test_evaluate_replies_may_carry_nothing() -> None:
    with pytest.raises(EgressBlocked, match="undeclared record"):
        check_reply(reply(secagg_reply(), "evaluate"), SCHEMA, index())

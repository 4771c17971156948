"""Two SecAgg+ instances per message: each lane answered on its own, a failing lane alone refused."""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from flwr.app import ConfigRecord, Context, Message, RecordDict
from flwr.supercore.task_identity import TaskIdentity

from federated.errors import FederatedError
from federated.lanes import ERROR_RECORD, envelope, lanes_of
from federated.lanes_mod import lanes_mod
from federated.server.mux import LaneGrid, Mux
from federated.server.watched_grid import WatchedGrid, failure_reason

STATE = "secaggplus_state"


@pytest.fixture(autouse=True)
def identity() -> None:
    TaskIdentity.task_id, TaskIdentity.run_id, TaskIdentity.node_id = 1, 1, 0


def request(lanes: dict[int, str]) -> Message:
    content = envelope(
        {
            lane: RecordDict({"secaggplus_configs": ConfigRecord({"stage": stage})})
            for lane, stage in lanes.items()
        }
    )
    message = Message(content, dst_node_id=7, message_type="train", group_id="1")
    message.metadata.__dict__["_message_id"] = "m"
    return message


def counting_app(message: Message, context: Context) -> Message:
    """Counts the stages each lane's state has seen, as secaggplus_mod keeps its own state."""
    stage = str(message.content.config_records["secaggplus_configs"]["stage"])
    if stage == "boom":
        raise FederatedError(failure_reason("bank-1", "collect_masked_vectors", "secagg_range_exceeded"))
    seen = context.state.config_records.get(STATE, ConfigRecord({"count": 0}))
    context.state.config_records[STATE] = ConfigRecord({"count": int(seen["count"]) + 1})  # type: ignore[call-overload]
    return Message(
        RecordDict({"secaggplus_configs": ConfigRecord({"count": seen["count"]})}), reply_to=message
    )


def test_each_lane_keeps_its_own_state_and_a_failing_lane_is_answered_alone() -> None:
    context = Context(1, 7, {}, RecordDict(), {})

    lanes_mod(request({1: "setup"}), context, counting_app)
    reply = lanes_mod(request({1: "share_keys", 2: "setup"}), context, counting_app)
    failed = lanes_mod(request({1: "boom", 2: "share_keys"}), context, counting_app)

    answers = lanes_of(reply.content)
    assert answers is not None
    assert answers[1]["secaggplus_configs"]["count"] == 1  # lane 1's second message
    assert answers[2]["secaggplus_configs"]["count"] == 0  # lane 2's first, untouched by lane 1
    after = lanes_of(failed.content)
    assert after is not None
    assert ERROR_RECORD in after[1] and "reason=secagg_range_exceeded" in str(
        after[1][ERROR_RECORD]["failure"]
    )
    assert after[2]["secaggplus_configs"]["count"] == 1
    assert STATE not in context.state  # every lane's state is kept under its own name


def test_a_message_outside_any_envelope_passes_through() -> None:
    context = Context(1, 7, {}, RecordDict(), {})
    plain = Message(
        RecordDict({"secaggplus_configs": ConfigRecord({"stage": "setup"})}), 7, "train", group_id="1"
    )
    plain.metadata.__dict__["_message_id"] = "p"

    reply = lanes_mod(plain, context, counting_app)

    assert reply.content.config_records["secaggplus_configs"]["count"] == 0


class EchoGrid(WatchedGrid):
    """Answers every envelope through lanes_mod with counting_app, as members would."""

    def __init__(self) -> None:
        super().__init__(inner=None)  # type: ignore[arg-type]
        self.contexts: dict[int, Context] = {}
        self.sent: list[Message] = []

    def send_and_receive(self, messages: Iterable[Message], *, timeout: float | None = None) -> list[Message]:
        replies = []
        for message in messages:
            self.sent.append(message)
            message.metadata.__dict__["_message_id"] = f"m{len(self.sent)}"
            node = message.metadata.dst_node_id
            context = self.contexts.setdefault(
                node, Context(1, node, {"member-id": "bank-1"}, RecordDict(), {})
            )
            replies.append(lanes_mod(message, context, counting_app))
        return replies


def test_the_mux_sends_two_lanes_in_one_message_and_splits_the_replies() -> None:
    import threading

    grid = EchoGrid()
    mux = Mux(grid)
    mux.open([1, 2])
    out: dict[int, list[Message]] = {}

    def lane(number: int, stage: str) -> None:
        messages = [Message(RecordDict({"secaggplus_configs": ConfigRecord({"stage": stage})}), node, "train",
                            group_id="1") for node in (7, 8)]  # fmt: skip
        out[number] = list(LaneGrid(mux, number).send_and_receive(messages))
        mux.close(number)

    threads = [
        threading.Thread(target=lane, args=(1, "boom")),
        threading.Thread(target=lane, args=(2, "setup")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len(grid.sent) == 2  # one envelope per member, both lanes inside
    assert all(reply.has_error() for reply in out[1])
    assert all(
        not reply.has_error() and reply.content["secaggplus_configs"]["count"] == 0 for reply in out[2]
    )
    assert {f.reason for f in grid.failures} == {"secagg_range_exceeded"}

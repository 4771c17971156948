"""The bureau's side of :mod:`federated.lanes`: SecAgg+ instances whose messages share exchanges.

Each instance runs in a thread of its own and talks to a :class:`LaneGrid`, whose
``send_and_receive`` hands its messages to the :class:`Mux`. When every open lane has
handed over its messages, the last to arrive sends one envelope per member (every lane's
records for that member, :func:`federated.lanes.envelope`) through the real grid, splits
each reply back by lane and wakes the others. A lane whose instance ended (or failed) closes,
and the remaining lanes go on without it, so a stalled lane never holds the others.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from flwr.app import Error, Message, RecordDict
from flwr.app.message import make_message
from flwr.app.message_type import MessageType
from flwr.serverapp.grid import Grid
from flwr.supercore.run import Run

from federated.errors import FederatedError
from federated.lanes import ERROR_KEY, ERROR_RECORD, envelope, lanes_of
from federated.server.watched_grid import FAILURE_PREFIX, WatchedGrid

__all__ = ["LaneGrid", "LaneOperationRefused", "Mux"]

_CLIENT_APP_RAISED = 1  # flwr.common.constant.ErrorCode.CLIENT_APP_RAISED_EXCEPTION
_ONLY_EXCHANGES = "a lane only exchanges messages through the mux"


class LaneOperationRefused(FederatedError):
    """A SecAgg+ lane was asked to push or pull on its own; it only exchanges through the mux."""

    reason = "lane_operation_refused"


@dataclass
class _Batch:
    messages: list[Message]
    timeout: float | None


class Mux:
    """Collects the open lanes' messages and sends them as one exchange (see the module doc)."""

    def __init__(self, grid: Grid) -> None:
        self.grid = grid
        self._cond = threading.Condition()
        self._open: set[int] = set()
        self._waiting: dict[int, _Batch] = {}
        self._results: dict[int, list[Message] | BaseException] = {}

    def open(self, lanes: Iterable[int]) -> None:
        """Expect messages from ``lanes`` (open them all before any of them sends)."""
        with self._cond:
            self._open.update(lanes)

    def close(self, lane: int) -> None:
        """``lane`` sends no more; the others may now go without it."""
        with self._cond:
            self._open.discard(lane)
            batch = self._complete_batch()
        if batch:
            self._send(batch)

    def exchange(self, lane: int, messages: Iterable[Message], timeout: float | None) -> list[Message]:
        """Send ``lane``'s messages with the other lanes' and return its replies.

        Raises
        ------
        BaseException
            Whatever sending the shared exchange raised.

        """
        with self._cond:
            if lane not in self._open:
                raise RuntimeError(f"lane {lane} is not open")
            self._waiting[lane] = _Batch(list(messages), timeout)
            batch = self._complete_batch()
        if batch:
            self._send(batch)
        with self._cond:
            while lane not in self._results:
                self._cond.wait()
            result = self._results.pop(lane)
        if isinstance(result, BaseException):
            raise result
        return result

    def _complete_batch(self) -> dict[int, _Batch] | None:
        """Take the waiting messages once every open lane has some (call with the lock held)."""
        if self._waiting and set(self._waiting) >= self._open:
            batch, self._waiting = self._waiting, {}
            return batch
        return None

    def _send(self, batch: dict[int, _Batch]) -> None:
        try:
            results: dict[int, list[Message] | BaseException] = dict(self._combined(batch))
        except BaseException as exc:  # Every lane of the exchange sees why it failed.
            results = dict.fromkeys(batch, exc)
        with self._cond:
            self._results.update(results)
            self._cond.notify_all()

    def _combined(self, batch: dict[int, _Batch]) -> dict[int, list[Message]]:
        by_node: dict[int, dict[int, Message]] = {}
        for lane, part in batch.items():
            for message in part.messages:
                by_node.setdefault(message.metadata.dst_node_id, {})[lane] = message
        envelopes = []
        for node, lanes in by_node.items():
            content = envelope({lane: message.content for lane, message in lanes.items()})
            group = next(iter(lanes.values())).metadata.group_id
            envelopes.append(
                Message(content, dst_node_id=node, message_type=MessageType.TRAIN, group_id=group)
            )
        timeouts = [part.timeout for part in batch.values()]
        timeout = None if None in timeouts else max(t for t in timeouts if t is not None)
        replies = self.grid.send_and_receive(envelopes, timeout=timeout)
        out: dict[int, list[Message]] = {lane: [] for lane in batch}
        for reply in replies:
            for lane in by_node.get(reply.metadata.src_node_id, {}):
                out[lane].append(self._lane_reply(reply, lane))
        return out

    def _lane_reply(self, reply: Message, lane: int) -> Message:
        if reply.has_error():
            return make_message(metadata=reply.metadata, error=reply.error)
        try:
            lanes = lanes_of(reply.content)
        except ValueError:
            lanes = None
        content = (lanes or {}).get(lane)
        if content is None:
            node = reply.metadata.src_node_id
            reason = f"{FAILURE_PREFIX} member=node-{node} phase=unknown reason=unreadable_reply"
            return make_message(metadata=reply.metadata, error=Error(code=_CLIENT_APP_RAISED, reason=reason))
        failure = content.config_records.get(ERROR_RECORD)
        if failure is not None:
            reason = str(failure.get(ERROR_KEY, ""))
            if isinstance(self.grid, WatchedGrid):
                self.grid.record_failure(reason, node_id=reply.metadata.src_node_id)
            return make_message(metadata=reply.metadata, error=Error(code=_CLIENT_APP_RAISED, reason=reason))
        return make_message(metadata=reply.metadata, content=content)


class LaneGrid(Grid):
    """The grid one SecAgg+ instance sees: its exchanges go through the :class:`Mux`."""

    def __init__(self, mux: Mux, lane: int) -> None:
        self.mux, self.lane = mux, lane

    def set_run(self, run: Run) -> None:
        """Set the real grid's run."""
        self.mux.grid.set_run(run)

    @property
    def run(self) -> Run:
        """The real grid's run."""
        return self.mux.grid.run

    def create_message(
        self,
        content: RecordDict,
        message_type: str,
        dst_node_id: int,
        group_id: str,
        ttl: float | None = None,
    ) -> Message:
        """Create a message through the real grid."""
        return self.mux.grid.create_message(content, message_type, dst_node_id, group_id, ttl)

    def get_node_ids(self) -> Iterable[int]:
        """The real grid's node ids."""
        return self.mux.grid.get_node_ids()

    def push_messages(self, messages: Iterable[Message]) -> Iterable[str]:
        """Refused (:class:`LaneOperationRefused`): SecAgg+ only sends and receives through the mux."""
        raise LaneOperationRefused(_ONLY_EXCHANGES)

    def pull_messages(self, message_ids: Iterable[str]) -> Iterable[Message]:
        """Refused (:class:`LaneOperationRefused`): SecAgg+ only sends and receives through the mux."""
        raise LaneOperationRefused(_ONLY_EXCHANGES)

    def send_and_receive(
        self, messages: Iterable[Message], *, timeout: float | None = None
    ) -> Sequence[Message]:
        """Exchange this lane's messages together with the other open lanes'."""
        return self.mux.exchange(self.lane, messages, timeout)

    def close(self) -> None:
        """Nothing to close: the real grid belongs to the run."""

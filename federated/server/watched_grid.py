"""The grid the ServerApp really uses: short reply polls, and members' failures kept by class.

Flower 1.41's deployment grid sleeps a fixed 3 s between reply pulls
(``superlink/grid/http_grid.py``), and a SecAgg+ aggregation waits for four rounds of
replies, so most of a round was spent asleep. :class:`WatchedGrid` wraps any grid and
implements ``send_and_receive`` itself with the inner grid's ``push_messages`` and
``pull_messages``, polling every ``poll_seconds`` (0.03 s, rising to 0.15 s while
nothing arrives).

A reply is listed before its objects are uploaded, and the deployment grid then waits
1 s before asking again; the grid module's retries are shortened to 20 ms
(:mod:`gateway._internal.flower_pulls`).

It also keeps every error reply. A member's egress mod (``federated/egress_mod.py``)
turns a failure into a fixed-format reason, ``credgate-failure member=<id>
phase=<phase> reason=<class>``; :func:`parse_failure` accepts only that format with
short lowercase tokens, so the run status names the member, the phase and the reason
class, and never a value from the member's data.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass

from flwr.app import Message, RecordDict
from flwr.serverapp.grid import Grid
from flwr.supercore.run import Run

__all__ = ["FAILURE_PREFIX", "Exchange", "MemberFailure", "WatchedGrid", "failure_reason", "parse_failure"]

logger = logging.getLogger(__name__)
FAILURE_PREFIX = "credgate-failure"
_TOKEN = r"[a-z0-9][a-z0-9_.\-]{0,63}"
_FAILURE = re.compile(rf"{FAILURE_PREFIX} member=({_TOKEN}) phase=({_TOKEN}) reason=({_TOKEN})")


@dataclass(frozen=True)
class Exchange:
    """One round trip to the members: seconds to push, to the first reply, to the last."""

    pushed: float
    first: float
    last: float


@dataclass(frozen=True)
class MemberFailure:
    """One member's failure as the bureau may know it: who, in which phase, which class of reason."""

    member: str
    phase: str
    reason: str

    def __str__(self) -> str:
        return f"member {self.member} failed phase {self.phase}: {self.reason}"


def failure_reason(member: str, phase: str, reason: str) -> str:
    """The error text a member sends for a failure (parsed by :func:`parse_failure`)."""
    return f"{FAILURE_PREFIX} member={member} phase={phase} reason={reason}"


def parse_failure(text: str, *, node_id: int) -> MemberFailure:
    """Read a member's error text; anything not in the fixed format becomes ``unreadable``."""
    match = _FAILURE.search(text)
    if match is None:
        return MemberFailure(f"node-{node_id}", "unknown", "unreadable_error")
    return MemberFailure(match.group(1), match.group(2), match.group(3))


class WatchedGrid(Grid):
    """Delegates to ``inner``; replaces ``send_and_receive`` and records members' failures."""

    def __init__(self, inner: Grid, *, poll_seconds: float = 0.03, max_poll_seconds: float = 0.15) -> None:
        # The deployment grid retries a reply's not-yet-uploaded objects after 1 s, 2 s, ...
        from flwr.superlink.grid import http_grid

        from gateway._internal.flower_pulls import shorten_object_pulls

        shorten_object_pulls(http_grid)
        self.inner = inner
        self.poll_seconds, self.max_poll_seconds = poll_seconds, max_poll_seconds
        self.failures: list[MemberFailure] = []
        #: Every ``send_and_receive`` (one SecAgg+ stage or plain phase): seconds to push the
        #: messages, to the first reply and to the last one.
        self.exchanges: list[Exchange] = []

    def set_run(self, run: Run) -> None:
        """Set the inner grid's run."""
        self.inner.set_run(run)

    @property
    def run(self) -> Run:
        """The inner grid's run."""
        return self.inner.run

    def create_message(
        self,
        content: RecordDict,
        message_type: str,
        dst_node_id: int,
        group_id: str,
        ttl: float | None = None,
    ) -> Message:
        """Create a message through the inner grid."""
        return self.inner.create_message(content, message_type, dst_node_id, group_id, ttl)

    def get_node_ids(self) -> Iterable[int]:
        """The inner grid's node ids."""
        return self.inner.get_node_ids()

    def push_messages(self, messages: Iterable[Message]) -> Iterable[str]:
        """Push through the inner grid."""
        return self.inner.push_messages(messages)

    def pull_messages(self, message_ids: Iterable[str]) -> Iterable[Message]:
        """Pull through the inner grid, keeping any error reply's failure."""
        replies = list(self.inner.pull_messages(message_ids))
        for reply in replies:
            if reply.has_error():
                self.record_failure(reply.error.reason or "", node_id=reply.metadata.src_node_id)
        return replies

    def record_failure(self, text: str, *, node_id: int) -> None:
        """Keep a member's failure (its fixed-format text; anything else is ``unreadable``)."""
        self.failures.append(parse_failure(text, node_id=node_id))

    def send_and_receive(
        self, messages: Iterable[Message], *, timeout: float | None = None
    ) -> Iterable[Message]:
        """Push, then pull until every reply arrived or ``timeout`` seconds passed."""
        started = time.perf_counter()
        pending = set(self.push_messages(messages))
        pushed = time.perf_counter() - started
        arrivals: list[float] = []
        deadline = None if timeout is None else time.monotonic() + timeout
        replies: list[Message] = []
        wait = self.poll_seconds
        while pending:
            arrived = list(self.pull_messages(pending))
            replies.extend(arrived)
            arrivals.extend(time.perf_counter() - started for _ in arrived)
            pending.difference_update(m.metadata.reply_to_message_id for m in arrived)
            if not pending or (deadline is not None and time.monotonic() >= deadline):
                break
            wait = self.poll_seconds if arrived else min(wait * 1.5, self.max_poll_seconds)
            time.sleep(wait)
        self.exchanges.append(Exchange(pushed, min(arrivals, default=pushed), time.perf_counter() - started))
        logger.info(
            "exchange: pushed in %.3f s, replies after %s s",
            pushed,
            " ".join(f"{t:.3f}" for t in arrivals),
        )
        return replies

    def close(self) -> None:
        """Nothing to close here; the runtime closes the inner grid."""

"""Run the same ServerApp and ClientApp in one process, for fast tests and benchmarks.

flwr 1.41's simulation engine needs Ray, which is not installed, so this module
provides :class:`InProcessGrid`, a :class:`flwr.serverapp.grid.Grid` that delivers
each message to a member's ``ClientApp`` in the same process. Messages cross it the
way they cross the SuperLink: serialised to protobuf and parsed back on each side,
with a ``Context`` kept per member for the run (SecAgg+ keeps its state there). A
``ClientApp`` that raises produces an error reply, as in the SuperNode runtime.

``observe`` (optional) is called with every reply as the server receives it; tests
use it to assert on exactly what reaches the ServerApp. Members sign their SecAgg+ keys
with certificates (:mod:`federated.key_binding`): a node config without ``tls-cert`` gets
one from a consortium CA made for the run (:func:`certify_members`).
"""

from __future__ import annotations

import logging
import tempfile
import uuid
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from flwr.app import Context, Error, Message, RecordDict
from flwr.clientapp import ClientApp
from flwr.common.constant import SUPERLINK_NODE_ID
from flwr.common.serde import message_from_proto, message_to_proto
from flwr.serverapp import ServerApp
from flwr.serverapp.grid import Grid
from flwr.supercore.run import Run
from flwr.supercore.task_identity import TaskIdentity

from federated.settings import UserConfigValue
from gateway.clock import system_clock
from gateway.identity.ca import CertificateAuthority
from gateway.roles import Role

__all__ = ["InProcessGrid", "Member", "certify_members", "run_inprocess"]

logger = logging.getLogger(__name__)
_CLIENT_APP_RAISED = 1  # flwr.common.constant.ErrorCode.CLIENT_APP_RAISED_EXCEPTION


@dataclass
class Member:
    """One in-process member: its ClientApp and node config."""

    app: ClientApp
    node_config: dict[str, UserConfigValue]
    context: Context | None = None


@dataclass
class InProcessGrid(Grid):
    """A Grid whose nodes are ClientApps called in this process (members answer in parallel)."""

    members: dict[int, Member]
    run_config: dict[str, UserConfigValue]
    run_id: int = 1
    observe: Callable[[Message], None] | None = None
    workers: int = 4
    _replies: dict[str, Message] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # One pool for the grid's life: starting threads per message batch cost more than a
        # SecAgg+ stage itself and would inflate SecAgg+'s four stages against one plain stage.
        self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="member")
        self._run = Run.create_empty(self.run_id)
        for node_id, member in self.members.items():
            member.context = Context(
                self.run_id, node_id, dict(member.node_config), RecordDict(), dict(self.run_config)
            )

    def set_run(self, run: Run) -> None:
        """Keep the run (the grid is created for one run)."""
        self._run = run

    @property
    def run(self) -> Run:
        """The run this grid serves."""
        return self._run

    def create_message(
        self,
        content: RecordDict,
        message_type: str,
        dst_node_id: int,
        group_id: str,
        ttl: float | None = None,
    ) -> Message:
        """Create an instruction message."""
        return Message(content, dst_node_id, message_type, ttl=ttl, group_id=group_id)

    def get_node_ids(self) -> Iterable[int]:
        """Return the members' node ids."""
        return list(self.members)

    def push_messages(self, messages: Iterable[Message]) -> Iterable[str]:
        """Deliver each message to its member and keep the reply under the message id."""
        batch = []
        for message in messages:
            message.metadata.__dict__["_message_id"] = uuid.uuid4().hex
            message.metadata.__dict__["_run_id"] = self.run_id
            batch.append(message)
        replies = list(self._pool.map(self._deliver, batch))
        for message, reply in zip(batch, replies, strict=True):
            if reply is not None:
                self._replies[message.metadata.message_id] = reply
        return [m.metadata.message_id for m in batch]

    def pull_messages(self, message_ids: Iterable[str]) -> Iterable[Message]:
        """Return (and forget) the replies to ``message_ids`` that exist."""
        return [self._replies.pop(i) for i in list(message_ids) if i in self._replies]

    def send_and_receive(
        self, messages: Iterable[Message], *, timeout: float | None = None
    ) -> Iterable[Message]:
        """Deliver and collect replies (a member that does not answer simply has none)."""
        return list(self.pull_messages(self.push_messages(messages)))

    def close(self) -> None:
        """Stop the members' worker threads."""
        self._pool.shutdown(wait=True)

    def _deliver(self, message: Message) -> Message | None:
        member = self.members.get(message.metadata.dst_node_id)
        if member is None or member.context is None:
            return None
        received = message_from_proto(message_to_proto(message))
        try:
            reply = member.app(received, member.context)
        except Exception as exc:  # Mirrors the SuperNode runtime: an error reply, not a crash.
            reason = f"{type(exc)}:<'{exc}'>"
            reply = Message(Error(code=_CLIENT_APP_RAISED, reason=reason), reply_to=received)
        reply.metadata.__dict__["_message_id"] = uuid.uuid4().hex
        delivered = message_from_proto(message_to_proto(reply))
        if self.observe is not None:
            self.observe(delivered)
        return delivered


def run_inprocess(
    server: ServerApp,
    client: ClientApp,
    *,
    node_configs: Mapping[int, dict[str, UserConfigValue]],
    run_config: dict[str, UserConfigValue],
    observe: Callable[[Message], None] | None = None,
) -> InProcessGrid:
    """Run ``server`` against in-process members running ``client``; return the grid used."""
    with tempfile.TemporaryDirectory(prefix="credgate-inprocess-ca-") as folder:
        configs = certify_members(node_configs, Path(folder))
        members = {node_id: Member(client, config) for node_id, config in configs.items()}
        return _run(server, InProcessGrid(members, dict(run_config), observe=observe), run_config)


def certify_members(
    node_configs: Mapping[int, dict[str, UserConfigValue]], folder: Path
) -> dict[int, dict[str, UserConfigValue]]:
    """Give every node config without ``tls-cert`` a lender certificate from a new CA in ``folder``.

    The member id is the node config's ``member-id``, else ``lender-<node id>``.
    """
    configs = {node_id: dict(config) for node_id, config in node_configs.items()}
    missing = [node_id for node_id, config in configs.items() if not config.get("tls-cert")]
    if not missing:
        return configs
    now = system_clock()
    authority = CertificateAuthority.init(folder / "ca", name="credgate in-process", now=now)
    for node_id in missing:
        member_id = str(configs[node_id].get("member-id") or f"lender-{node_id}")
        issued = authority.issue(member_id=member_id, role=Role.BANK, out_dir=folder / str(node_id), now=now)
        configs[node_id]["tls-cert"] = str(issued.cert_path)
        configs[node_id]["tls-key"] = str(issued.key_path)
        configs[node_id]["ca-cert"] = str(issued.ca_cert_path)
    return configs


def _run(server: ServerApp, grid: InProcessGrid, run_config: dict[str, UserConfigValue]) -> InProcessGrid:
    # The ServerApp runtime sets the task identity new messages are stamped with.
    TaskIdentity.task_id, TaskIdentity.run_id, TaskIdentity.node_id = 1, grid.run_id, SUPERLINK_NODE_ID
    context = Context(grid.run_id, SUPERLINK_NODE_ID, {}, RecordDict(), dict(run_config))
    try:
        server(grid, context)
    finally:
        grid.close()
    return grid

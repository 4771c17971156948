"""The bureau's part of :mod:`federated.key_binding`: relay each member's signed keys with its keys.

Flower's ``SecAggPlusWorkflow`` keeps only ``pk1`` and ``pk2`` from a member's setup reply
and forwards them to its neighbours at ``share_keys``. :class:`KeyBindingRelay` is the lane
grid an instance runs on: it keeps the certificate and signature from each setup reply and
adds them, as ``binding:<node id>``, to every share-keys message next to that node's keys.
Members refuse to share keys with a neighbour whose binding is missing or wrong.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from flwr.app import Message
from flwr.common.secure_aggregation.secaggplus_constants import RECORD_KEY_CONFIGS, Key, Stage

from federated.key_binding import BINDING_PREFIX, CERT_KEY, SIGNATURE_KEY
from federated.server.mux import LaneGrid, Mux

__all__ = ["KeyBindingRelay"]


class KeyBindingRelay(LaneGrid):
    """A lane grid that carries members' key bindings from ``setup`` replies to ``share_keys`` messages."""

    def __init__(self, mux: Mux, lane: int) -> None:
        super().__init__(mux, lane)
        self.bindings: dict[int, list[bytes]] = {}

    def send_and_receive(
        self, messages: Iterable[Message], *, timeout: float | None = None
    ) -> Sequence[Message]:
        """Add the bindings to share-keys messages; keep the ones setup replies bring."""
        replies = super().send_and_receive([self._with_bindings(m) for m in messages], timeout=timeout)
        for reply in replies:
            self._keep(reply)
        return replies

    def _with_bindings(self, message: Message) -> Message:
        configs = message.content.config_records.get(RECORD_KEY_CONFIGS)
        if configs is None or configs.get(Key.STAGE) != Stage.SHARE_KEYS:
            return message
        for node_text in [k for k in configs if k != Key.STAGE]:
            binding = self.bindings.get(int(node_text))
            if binding is not None:
                configs[BINDING_PREFIX + node_text] = binding
        return message

    def _keep(self, reply: Message) -> None:
        if reply.has_error():
            return
        configs = reply.content.config_records.get(RECORD_KEY_CONFIGS)
        if configs is None or Key.PUBLIC_KEY_1 not in configs:
            return
        cert, signature = configs.get(CERT_KEY), configs.get(SIGNATURE_KEY)
        if isinstance(cert, bytes) and isinstance(signature, bytes):
            self.bindings[reply.metadata.src_node_id] = [cert, signature]

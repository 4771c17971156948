"""The transparency RPCs of the bureau, as a member calls them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

import grpc

from gateway._proto.credgate.v1 import bureau_pb2, bureau_pb2_grpc
from gateway.rpc.status import error_from_rpc
from gateway.tlog.checkpoints import Publication

__all__ = ["TransparencyClient"]

CALL_TIMEOUT_SECONDS = 10.0
T = TypeVar("T")


class TransparencyClient:
    """Publish, fetch and co-sign checkpoints; read the key log; confirm rotations (one channel)."""

    def __init__(self, channel: grpc.Channel, *, address: str) -> None:
        self._stub = bureau_pb2_grpc.BureauServiceStub(channel)
        self._address = address

    def publish(self, publication: Publication) -> None:
        """Hand the bureau one of this node's publications."""
        request = bureau_pb2.PublishCheckpointRequest(publication=publication.render())
        self._call(lambda: self._stub.PublishCheckpoint(request, timeout=CALL_TIMEOUT_SECONDS))

    def checkpoints(self, after: dict[str, int], *, only_listed: bool = False) -> list[Publication]:
        """Publications after the named sizes (and the latest of every other log)."""
        request = bureau_pb2.GetCheckpointsRequest(
            after=[
                bureau_pb2.LogPosition(origin=origin, size=size) for origin, size in sorted(after.items())
            ],
            only_listed=only_listed,
        )
        response = self._call(lambda: self._stub.GetCheckpoints(request, timeout=CALL_TIMEOUT_SECONDS))
        return [Publication.parse(text) for text in response.publications]

    def add_cosignatures(self, cosignatures: Sequence[tuple[str, int, str]]) -> None:
        """Hand in co-signature lines ``(origin, size, line)``."""
        request = bureau_pb2.AddCosignaturesRequest(
            cosignatures=[bureau_pb2.Cosignature(origin=o, size=s, line=line) for o, s, line in cosignatures]
        )
        self._call(lambda: self._stub.AddCosignatures(request, timeout=CALL_TIMEOUT_SECONDS))

    def key_log_entries(self, start: int, end: int) -> list[bytes]:
        """Leaves ``[start, end)`` of the key log (the bureau may send fewer; call again)."""
        request = bureau_pb2.GetKeyLogEntriesRequest(start=start, end=end)
        response = self._call(lambda: self._stub.GetKeyLogEntries(request, timeout=CALL_TIMEOUT_SECONDS))
        return list(response.entries)

    def confirm_rotation(self, statement: bytes) -> int:
        """Log a signed rotation confirmation; returns its leaf index."""
        request = bureau_pb2.ConfirmKeyRotationRequest(statement=statement)
        response = self._call(lambda: self._stub.ConfirmKeyRotation(request, timeout=CALL_TIMEOUT_SECONDS))
        return int(response.leaf_index)

    def _call(self, call: Callable[[], T]) -> T:
        try:
            return call()
        except grpc.RpcError as exc:
            raise error_from_rpc(exc, peer=f"bureau at {self._address}") from exc

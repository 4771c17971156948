"""``credgate.v1.BureauService``: the directory RPCs.

The other bureau RPCs (subject check, OPRF evaluation, contact clearance,
reports, inquiries) are defined in the contract and answer UNIMPLEMENTED
until their handlers exist.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from gateway._proto.credgate.v1 import bureau_pb2, bureau_pb2_grpc
from gateway.bureau import ConsortiumDirectory, MemberView
from gateway.rpc.interceptors import current_peer
from gateway.rpc.roles import role_to_proto
from gateway.rpc.status import maps_errors

Clock = Callable[[], dt.datetime]


class BureauServicer(bureau_pb2_grpc.BureauServiceServicer):
    """Serves the consortium directory over mTLS.

    Parameters
    ----------
    directory
        The directory handler.
    heartbeat_seconds
        Interval members are told to send heartbeats at.
    clock
        Returns the bureau's current UTC time.

    """

    def __init__(self, directory: ConsortiumDirectory, *, heartbeat_seconds: float, clock: Clock) -> None:
        self._directory = directory
        self._heartbeat_seconds = heartbeat_seconds
        self._clock = clock

    @maps_errors
    def Register(  # noqa: N802 - gRPC method name
        self, request: bureau_pb2.RegisterRequest, context: grpc.ServicerContext
    ) -> bureau_pb2.RegisterResponse:
        """Register the caller under its certificate's identity."""
        view = self._directory.register(
            current_peer(context),
            address=request.advertised_address,
            software_version=request.software_version,
            protocol_version=request.protocol_version,
            now=self._clock(),
        )
        return bureau_pb2.RegisterResponse(
            member_id=view.member_id,
            role=role_to_proto(view.role),
            registered_at=_timestamp(view.registered_at),
            heartbeat_interval_seconds=max(1, round(self._heartbeat_seconds)),
        )

    @maps_errors
    def Heartbeat(  # noqa: N802 - gRPC method name
        self, request: bureau_pb2.HeartbeatRequest, context: grpc.ServicerContext
    ) -> bureau_pb2.HeartbeatResponse:
        """Record the caller's heartbeat and tell it the bureau's time."""
        now = self._clock()
        self._directory.heartbeat(current_peer(context), software_version=request.software_version, now=now)
        return bureau_pb2.HeartbeatResponse(bureau_time=_timestamp(now))

    @maps_errors
    def GetDirectory(  # noqa: N802 - gRPC method name
        self, request: bureau_pb2.GetDirectoryRequest, context: grpc.ServicerContext
    ) -> bureau_pb2.GetDirectoryResponse:
        """List the consortium's members as the caller may see them."""
        views = self._directory.listing(current_peer(context))
        return bureau_pb2.GetDirectoryResponse(
            members=[_entry(view) for view in views], bureau_time=_timestamp(self._clock())
        )


def _entry(view: MemberView) -> bureau_pb2.DirectoryEntry:
    entry = bureau_pb2.DirectoryEntry(
        member_id=view.member_id,
        role=role_to_proto(view.role),
        address=view.address,
        software_version=view.software_version,
        protocol_version=view.protocol_version,
        registered_at=_timestamp(view.registered_at),
    )
    if view.last_seen_at is not None:
        entry.last_seen_at.CopyFrom(_timestamp(view.last_seen_at))
    return entry


def _timestamp(moment: dt.datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment.astimezone(dt.UTC))
    return stamp

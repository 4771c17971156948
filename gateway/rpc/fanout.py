"""The bureau's mTLS calls to members' ``MemberService`` (one channel per member, reused)."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable

import grpc

from gateway._proto.credgate.v1 import member_pb2, member_pb2_grpc
from gateway.aggregation.field import Residues
from gateway.bureau import MemberView
from gateway.crypto.hpke import SealedBox
from gateway.errors import InvalidInputError
from gateway.identity.tls import TLSIdentity
from gateway.node.ceremony import SecretEnvelope
from gateway.queries.inquiries.collector import CollectRequest
from gateway.queries.reports.messages import OpenRequest, ShareRequest
from gateway.queries.subject_check.messages import Contribution, FinalizeRequest, RoundRequest
from gateway.rpc.channel import open_channel
from gateway.rpc.convert.ceremony import envelope_to_proto
from gateway.rpc.convert.inquiries import collect_to_proto, sealed_inquiries_from_proto
from gateway.rpc.convert.reports import open_request_to_proto, share_from_proto, share_request_to_proto
from gateway.rpc.convert.subject_check import (
    contribution_from_proto,
    finalize_to_proto,
    new_header,
    round_to_proto,
    timestamp,
)
from gateway.rpc.interceptors.egress import ClientEgressInterceptor
from gateway.rpc.status import error_from_rpc


class MemberChannels:
    """Channels from the bureau to members, keyed by member id and address."""

    def __init__(self, identity: TLSIdentity, *, egress: ClientEgressInterceptor) -> None:
        self._identity = identity
        self._egress = egress
        self._lock = threading.Lock()
        self._channels: dict[tuple[str, str], grpc.Channel] = {}

    def stub(self, member: MemberView) -> member_pb2_grpc.MemberServiceStub:
        """A stub on the (cached) channel to ``member``; its certificate must name it."""
        key = (member.member_id, member.address)
        with self._lock:
            if key not in self._channels:
                self._channels[key] = open_channel(
                    self._identity, member.address, peer_member_id=member.member_id, egress=self._egress
                )
            return member_pb2_grpc.MemberServiceStub(self._channels[key])

    def close(self) -> None:
        """Close every channel."""
        with self._lock:
            for channel in self._channels.values():
                channel.close()
            self._channels.clear()


class GrpcMemberCaller:
    """:class:`gateway.queries.subject_check.router.MemberCaller` over gRPC."""

    def __init__(self, channels: MemberChannels, *, width: int) -> None:
        self._channels = channels
        self._width = width

    def compute(self, member: MemberView, request: RoundRequest, *, timeout: float) -> Contribution:
        """Send one round request and read the member's self-masked rows and signed digest.

        Raises
        ------
        UnavailableError
            When the member does not answer in time or cannot be reached.
        GatewayError
            When it refuses (its status is mapped to the matching error).

        """
        stub = self._channels.stub(member)
        try:
            response = stub.ComputeSubjectVectors(round_to_proto(request), timeout=timeout)
        except grpc.RpcError as exc:
            raise error_from_rpc(exc, peer=f"member {member.member_id}") from exc
        return contribution_from_proto(response, rows=request.subject_count, columns=self._width)

    def finalize(self, member: MemberView, request: FinalizeRequest, *, timeout: float) -> bytes:
        """Ask one participant to finalize an attempt; return its self-mask seed.

        Raises
        ------
        GatewayError
            The member's refusal or unavailability, mapped from its status.

        """
        try:
            response = self._channels.stub(member).FinalizeSubjectRound(
                finalize_to_proto(request), timeout=timeout
            )
        except grpc.RpcError as exc:
            raise error_from_rpc(exc, peer=f"member {member.member_id}") from exc
        if len(response.self_mask_seed) != 32:
            raise InvalidInputError("expected a 32-byte seed", field="self_mask_seed")
        return response.self_mask_seed


class GrpcInquiryCaller:
    """:class:`gateway.queries.inquiries.relay.InquiryCaller` over gRPC."""

    def __init__(self, channels: MemberChannels, *, clock: Callable[[], dt.datetime]) -> None:
        self._channels = channels
        self._clock = clock

    def collect(self, member: MemberView, request: CollectRequest, *, timeout: float) -> SealedBox:
        """Ask one member for its sealed inquiry records.

        Raises
        ------
        GatewayError
            The member's refusal or unavailability, mapped from its status.

        """
        stamped = new_header()
        stamped.query_time.CopyFrom(timestamp(self._clock()))
        try:
            response = self._channels.stub(member).CollectInquiries(
                collect_to_proto(request, header=stamped), timeout=timeout
            )
        except grpc.RpcError as exc:
            raise error_from_rpc(exc, peer=f"member {member.member_id}") from exc
        return sealed_inquiries_from_proto(response.envelope)


class GrpcShareCaller:
    """:class:`gateway.queries.reports.coordinator.ShareCaller` over gRPC."""

    def __init__(self, channels: MemberChannels) -> None:
        self._channels = channels

    def share(self, member: MemberView, request: ShareRequest, *, width: int, timeout: float) -> Residues:
        """Ask one member for its masked report vector.

        Raises
        ------
        GatewayError
            The member's refusal or unavailability, mapped from its status.

        """
        message = share_request_to_proto(request)
        try:
            response = self._channels.stub(member).ComputeReportShare(message, timeout=timeout)
        except grpc.RpcError as exc:
            raise error_from_rpc(exc, peer=f"member {member.member_id}") from exc
        return share_from_proto(response, width=width)

    def open(self, member: MemberView, request: OpenRequest, *, timeout: float) -> bytes:
        """Ask one member for an attempt's self-mask seed.

        Raises
        ------
        GatewayError
            The member's refusal or unavailability, mapped from its status.

        """
        try:
            response = self._channels.stub(member).OpenReportShare(
                open_request_to_proto(request), timeout=timeout
            )
        except grpc.RpcError as exc:
            raise error_from_rpc(exc, peer=f"member {member.member_id}") from exc
        return response.self_mask_seed


class GrpcSecretCaller:
    """:class:`gateway.bureau.secret_relay.SecretCaller` over gRPC."""

    def __init__(self, channels: MemberChannels) -> None:
        self._channels = channels

    def deliver(self, member: MemberView, envelope: SecretEnvelope, *, timeout: float) -> bool:
        """Forward one envelope to its recipient.

        Raises
        ------
        GatewayError
            The member's refusal or unavailability, mapped from its status.

        """
        request = member_pb2.ReceiveMembersSecretRequest(
            envelope=envelope_to_proto(envelope), header=new_header()
        )
        try:
            response = self._channels.stub(member).ReceiveMembersSecret(request, timeout=timeout)
        except grpc.RpcError as exc:
            raise error_from_rpc(exc, peer=f"member {member.member_id}") from exc
        return bool(response.installed)

"""A member's query calls to the bureau: the subject-check stream and subject access."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

import grpc

from gateway._proto.credgate.v1 import bureau_pb2, bureau_pb2_grpc, subject_check_pb2
from gateway.crypto.hpke import SealedBox
from gateway.node.ceremony import SecretEnvelope
from gateway.queries.inquiries.relay import RelayRequest
from gateway.queries.subject_check.messages import CheckChunk, ChunkResult, Coverage
from gateway.rpc.convert.ceremony import envelope_to_proto
from gateway.rpc.convert.inquiries import relay_to_proto, sealed_inquiries_from_proto
from gateway.rpc.convert.subject_check import (
    chunk_to_proto,
    coverage_from_proto,
    new_header,
    result_from_proto,
)
from gateway.rpc.status import error_from_rpc

CHECK_TIMEOUT_SECONDS = 3600.0
INQUIRIES_TIMEOUT_SECONDS = 60.0


class GrpcCheckTransport:
    """:class:`gateway.queries.subject_check.querier.CheckTransport` over one mTLS channel."""

    def __init__(self, channel: grpc.Channel, *, layout_version: int, width: int) -> None:
        self._stub = bureau_pb2_grpc.BureauServiceStub(channel)
        self._layout_version = layout_version
        self._width = width

    def run(self, chunks: Iterable[CheckChunk]) -> Iterator[ChunkResult]:
        """Stream ``chunks`` and yield the bureau's answer to each, in order.

        Raises
        ------
        GatewayError
            The bureau's refusal (policy, rate limit, bad input) or unavailability; or, as
            raised, a local failure while preparing the next chunk (this node's own store
            full or read-only is a ``StoreError``, never the bureau's fault).

        """
        counts: dict[int, int] = {}
        local_failure: list[Exception] = []

        def requests() -> Iterator[subject_check_pb2.SubjectCheckRequest]:
            # gRPC runs this on its own thread and turns an exception here into the call's
            # UNKNOWN "Exception iterating requests!": keep the real error and end the call.
            try:
                for chunk in chunks:
                    counts[chunk.chunk_index] = chunk.subject_count
                    yield chunk_to_proto(chunk, layout_version=self._layout_version)
            except Exception as exc:
                local_failure.append(exc)
                call.cancel()

        call = self._stub.SubjectCheck(requests(), timeout=CHECK_TIMEOUT_SECONDS)
        try:
            for response in call:
                yield result_from_proto(
                    response, subject_count=counts[response.chunk_index], width=self._width
                )
        except grpc.RpcError as exc:
            if local_failure:
                raise local_failure[0] from None
            raise error_from_rpc(exc, peer="bureau (subject check)") from exc
        if local_failure:
            raise local_failure[0]


def request_inquiries(channel: grpc.Channel, request: RelayRequest) -> tuple[list[SealedBox], Coverage]:
    """Relay a subject's access request; return the sealed envelopes and the coverage.

    Raises
    ------
    GatewayError
        The bureau's refusal or unavailability.

    """
    header = new_header()
    stub = bureau_pb2_grpc.BureauServiceStub(channel)
    try:
        response = stub.RequestSubjectInquiries(
            relay_to_proto(request, header=header),
            timeout=INQUIRIES_TIMEOUT_SECONDS,
        )
    except grpc.RpcError as exc:
        raise error_from_rpc(exc, peer="bureau (subject access)") from exc
    return [sealed_inquiries_from_proto(e) for e in response.envelopes], coverage_from_proto(
        response.coverage
    )


def distribute_members_secret(
    channel: grpc.Channel, envelopes: Sequence[SecretEnvelope]
) -> tuple[list[str], list[str]]:
    """Have the bureau relay a ceremony's envelopes; return (delivered, failed) member ids.

    Raises
    ------
    GatewayError
        The bureau's refusal or unavailability.

    """
    stub = bureau_pb2_grpc.BureauServiceStub(channel)
    request = bureau_pb2.DistributeMembersSecretRequest(
        envelopes=[envelope_to_proto(e) for e in envelopes], header=new_header()
    )
    try:
        response = stub.DistributeMembersSecret(request, timeout=INQUIRIES_TIMEOUT_SECONDS)
    except grpc.RpcError as exc:
        raise error_from_rpc(exc, peer="bureau (members' secret)") from exc
    return list(response.delivered_member_ids), list(response.failed_member_ids)


def invalidate_cached_checks(channel: grpc.Channel, tags: Sequence[bytes]) -> int:
    """Ask the bureau to forget cached answers for ``tags``; returns the rows removed.

    Raises
    ------
    GatewayError
        The bureau's refusal or unavailability.

    """
    stub = bureau_pb2_grpc.BureauServiceStub(channel)
    request = subject_check_pb2.InvalidateCachedChecksRequest(header=new_header(), dedup_tags=list(tags))
    try:
        response = stub.InvalidateCachedChecks(request, timeout=INQUIRIES_TIMEOUT_SECONDS)
    except grpc.RpcError as exc:
        raise error_from_rpc(exc, peer="bureau (cache invalidation)") from exc
    return int(response.rows_removed)

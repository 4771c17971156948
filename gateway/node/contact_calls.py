"""A member's contact-clearance calls to the bureau over its mTLS channel."""

from __future__ import annotations

from collections.abc import Sequence

import grpc

from gateway._proto.credgate.v1 import bureau_pb2_grpc, contact_clearance_pb2
from gateway.contact.messages import ClearanceAnswer, ClearanceRequest, FlagTag, OutcomeAnswer, OutcomeRecord
from gateway.rpc.convert.contact import (
    answer_from_proto,
    clear_request_to_proto,
    flags_to_proto,
    outcome_answer_from_proto,
    outcome_to_proto,
)
from gateway.rpc.convert.subject_check import new_header
from gateway.rpc.status import error_from_rpc

CONTACT_TIMEOUT_SECONDS = 10.0


class GrpcContactTransport:
    """:class:`gateway.contact.client.ContactTransport` over one mTLS channel to the bureau."""

    def __init__(self, channel: grpc.Channel, *, timeout: float = CONTACT_TIMEOUT_SECONDS) -> None:
        self._stub = bureau_pb2_grpc.BureauServiceStub(channel)
        self._timeout = timeout

    def clear(self, request: ClearanceRequest) -> ClearanceAnswer:
        """Ask the bureau.

        Raises
        ------
        GatewayError
            The bureau's refusal (bad input, policy) or its unavailability.

        """
        try:
            response = self._stub.ClearContact(
                clear_request_to_proto(request, new_header()), timeout=self._timeout, wait_for_ready=True
            )
        except grpc.RpcError as exc:
            raise error_from_rpc(exc, peer="bureau (contact clearance)") from exc
        return answer_from_proto(response)

    def record(self, record: OutcomeRecord) -> OutcomeAnswer:
        """Send an outcome.

        Raises
        ------
        GatewayError
            The bureau's refusal or its unavailability.

        """
        try:
            response = self._stub.RecordContactOutcome(
                outcome_to_proto(record, new_header()), timeout=self._timeout, wait_for_ready=True
            )
        except grpc.RpcError as exc:
            raise error_from_rpc(exc, peer="bureau (contact outcome)") from exc
        return outcome_answer_from_proto(response)

    def publish_flags(self, local_day: int, tag_key_epoch: int, flags: Sequence[FlagTag]) -> int:
        """Replace this member's flags for a day.

        Raises
        ------
        GatewayError
            The bureau's refusal or its unavailability.

        """
        request = contact_clearance_pb2.PublishContactFlagsRequest(
            header=new_header(),
            local_day=local_day,
            tag_key_epoch=tag_key_epoch,
            flags=flags_to_proto(list(flags)),
        )
        try:
            response = self._stub.PublishContactFlags(request, timeout=self._timeout, wait_for_ready=True)
        except grpc.RpcError as exc:
            raise error_from_rpc(exc, peer="bureau (contact flags)") from exc
        return response.accepted

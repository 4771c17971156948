"""``credgate.v1.MemberService``: a member answering the bureau's fan-out.

Only the bureau's certificate may call it (Cedar policy ``fabric.fanout-from-bureau-only``).
"""

from __future__ import annotations

import uuid

import grpc

from gateway._proto.credgate.v1 import (
    inquiry_history_pb2,
    member_pb2,
    member_pb2_grpc,
    regulator_report_pb2,
    subject_check_pb2,
)
from gateway.node.ceremony import SecretReceiver
from gateway.queries.inquiries.collector import InquiryCollector
from gateway.queries.reports.responder import ReportResponder
from gateway.queries.subject_check.responder import SubjectCheckResponder
from gateway.rpc.convert.ceremony import envelope_from_proto
from gateway.rpc.convert.inquiries import collect_from_proto, sealed_inquiries_to_proto
from gateway.rpc.convert.reports import open_request_from_proto, share_request_from_proto, share_to_proto
from gateway.rpc.convert.subject_check import contribution_to_proto, finalize_from_proto, round_from_proto
from gateway.rpc.interceptors import current_peer
from gateway.rpc.status import maps_errors


class MemberServicer(member_pb2_grpc.MemberServiceServicer):
    """Answers subject-check rounds, inquiry collection and report rounds from this member's store."""

    def __init__(
        self,
        responder: SubjectCheckResponder,
        inquiries: InquiryCollector,
        reports: ReportResponder,
        secrets: SecretReceiver,
        *,
        layout_version: int,
    ) -> None:
        self._secrets = secrets
        self._responder = responder
        self._inquiries = inquiries
        self._reports = reports
        self._layout_version = layout_version

    @maps_errors
    def ComputeSubjectVectors(  # noqa: N802 - gRPC method name
        self, request: subject_check_pb2.ComputeSubjectVectorsRequest, context: grpc.ServicerContext
    ) -> subject_check_pb2.ComputeSubjectVectorsResponse:
        """Self-masked rows and a signed digest for one chunk the bureau sends."""
        contribution = self._responder.answer(round_from_proto(request), caller=current_peer(context))
        return contribution_to_proto(
            contribution, chunk_index=request.chunk_index, layout_version=self._layout_version
        )

    @maps_errors
    def FinalizeSubjectRound(  # noqa: N802 - gRPC method name
        self, request: subject_check_pb2.FinalizeSubjectRoundRequest, context: grpc.ServicerContext
    ) -> subject_check_pb2.FinalizeSubjectRoundResponse:
        """This attempt's self-mask seed, once every participant answered it."""
        seed = self._responder.finalize(finalize_from_proto(request))
        return subject_check_pb2.FinalizeSubjectRoundResponse(self_mask_seed=seed)

    @maps_errors
    def ReceiveMembersSecret(  # noqa: N802 - gRPC method name
        self, request: member_pb2.ReceiveMembersSecretRequest, context: grpc.ServicerContext
    ) -> member_pb2.ReceiveMembersSecretResponse:
        """Install a new epoch of the members' secret made by another member."""
        installed = self._secrets.receive(envelope_from_proto(request.envelope))
        return member_pb2.ReceiveMembersSecretResponse(installed=installed)

    @maps_errors
    def CollectInquiries(  # noqa: N802 - gRPC method name
        self, request: inquiry_history_pb2.CollectInquiriesRequest, context: grpc.ServicerContext
    ) -> inquiry_history_pb2.CollectInquiriesResponse:
        """This member's own inquiries about a token, sealed to the subject's key."""
        envelope = self._inquiries.collect(collect_from_proto(request))
        return inquiry_history_pb2.CollectInquiriesResponse(envelope=sealed_inquiries_to_proto(envelope))

    @maps_errors
    def ComputeReportShare(  # noqa: N802 - gRPC method name
        self, request: regulator_report_pb2.ComputeReportShareRequest, context: grpc.ServicerContext
    ) -> regulator_report_pb2.ComputeReportShareResponse:
        """This member's noised, masked share of one report round."""
        share = self._reports.share(
            current_peer(context),
            share_request_from_proto(request),
            correlation_id=uuid.uuid4().hex,
            time_left=context.time_remaining(),
        )
        return share_to_proto(share, template_version=request.header.vector_layout_version)

    @maps_errors
    def OpenReportShare(  # noqa: N802 - gRPC method name
        self, request: regulator_report_pb2.OpenReportShareRequest, context: grpc.ServicerContext
    ) -> regulator_report_pb2.OpenReportShareResponse:
        """Reveal one answered attempt's self-mask (at most one attempt per request and phase)."""
        seed = self._reports.open(
            current_peer(context), open_request_from_proto(request), correlation_id=uuid.uuid4().hex
        )
        return regulator_report_pb2.OpenReportShareResponse(self_mask_seed=seed)

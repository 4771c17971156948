"""``credgate.v1.BureauService``: directory, OPRF, subject check, subject access, reports, models.

Each method converts the request, calls one handler, converts the result back;
errors become statuses through ``maps_errors``.
"""

from __future__ import annotations

import ssl
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc

from gateway._proto.credgate.v1 import (
    bureau_pb2,
    bureau_pb2_grpc,
    contact_clearance_pb2,
    inquiry_history_pb2,
    models_pb2,
    regulator_report_pb2,
    subject_check_pb2,
    tokens_pb2,
)
from gateway.bureau import ConsortiumDirectory, MemberView
from gateway.bureau.directory import heartbeat_interval
from gateway.bureau.oprf import OPRFEvaluator
from gateway.bureau.secret_relay import SecretRelay
from gateway.clock import Clock
from gateway.contact.desk import ClearanceDesk
from gateway.crypto.bundle import KeyBundle
from gateway.errors import PolicyDenied
from gateway.node.bureau_client import WORDS_PER_CHUNK
from gateway.observability import metrics
from gateway.queries.inquiries.relay import InquiryRelay
from gateway.queries.reports.board import HoldersBoard
from gateway.queries.reports.coordinator import ReportCoordinator
from gateway.queries.subject_check.messages import ChunkResult
from gateway.queries.subject_check.router import SubjectCheckRouter
from gateway.rpc.convert.ceremony import envelope_from_proto
from gateway.rpc.convert.contact import (
    answer_to_proto,
    clear_request_from_proto,
    flags_from_proto,
    outcome_answer_to_proto,
    outcome_from_proto,
)
from gateway.rpc.convert.inquiries import relay_from_proto, sealed_inquiries_to_proto
from gateway.rpc.convert.reports import order_from_proto, release_to_proto
from gateway.rpc.convert.subject_check import (
    check_algorithms,
    chunk_from_proto,
    coverage_to_proto,
    from_timestamp,
    result_to_proto,
    timestamp,
)
from gateway.rpc.convert.tokens import token_type_from_proto
from gateway.rpc.interceptors import current_peer, peer_certificate_pem
from gateway.rpc.roles import role_to_proto
from gateway.rpc.status import maps_errors, maps_stream_errors
from gateway.store.repositories.members import PublishedKeys
from gateway.tlog.keys import LogKeyStatement
from gateway.transparency.bureau import MAX_ENTRIES_PER_CALL, BureauTransparency, RegisteredKeys


@dataclass(frozen=True)
class BureauHandlers:
    """The handlers behind the bureau's RPCs."""

    directory: ConsortiumDirectory
    oprf: OPRFEvaluator
    subject_check: SubjectCheckRouter
    inquiries: InquiryRelay
    reports: ReportCoordinator
    holders: HoldersBoard
    layout_version: int
    # Where `credgate train` leaves each run's signed model (``federation/runs`` in the data dir).
    model_runs: Path
    # The key log and the relay of checkpoints (issue #12).
    transparency: BureauTransparency
    # The members' secret ceremony's relay (issue #11).
    secrets: SecretRelay
    contact: ClearanceDesk


class BureauServicer(bureau_pb2_grpc.BureauServiceServicer):
    """Serves the bureau over mTLS.

    Parameters
    ----------
    handlers
        The handlers behind the RPCs.
    heartbeat_seconds
        Interval members are told to send heartbeats at.
    clock
        Returns the bureau's current UTC time.

    """

    def __init__(self, handlers: BureauHandlers, *, heartbeat_seconds: float, clock: Clock) -> None:
        self._handlers = handlers
        self._heartbeat_seconds = heartbeat_seconds
        self._clock = clock

    @maps_errors
    def Register(  # noqa: N802 - gRPC method name
        self, request: bureau_pb2.RegisterRequest, context: grpc.ServicerContext
    ) -> bureau_pb2.RegisterResponse:
        """Register the caller under its certificate's identity; log its certificate and keys."""
        peer = current_peer(context)
        keys = _published_keys(request, context)
        view = self._handlers.directory.register(
            peer,
            address=request.advertised_address,
            software_version=request.software_version,
            protocol_version=request.protocol_version,
            keys=keys,
            now=self._clock(),
        )
        if request.HasField("log_key"):
            self._handlers.transparency.register(peer, _registered_keys(request, keys, context))
        return bureau_pb2.RegisterResponse(
            member_id=view.member_id,
            role=role_to_proto(view.role),
            registered_at=timestamp(view.registered_at),
            heartbeat_interval_seconds=heartbeat_interval(self._heartbeat_seconds),
        )

    @maps_errors
    def Heartbeat(  # noqa: N802 - gRPC method name
        self, request: bureau_pb2.HeartbeatRequest, context: grpc.ServicerContext
    ) -> bureau_pb2.HeartbeatResponse:
        """Record the caller's heartbeat and tell it the bureau's time."""
        now = self._clock()
        self._handlers.directory.heartbeat(
            current_peer(context),
            software_version=request.software_version,
            blacklist_listings=request.blacklist_listings,
            now=now,
            address=request.advertised_address,
        )
        return bureau_pb2.HeartbeatResponse(bureau_time=timestamp(now))

    @maps_errors
    def GetDirectory(  # noqa: N802 - gRPC method name
        self, request: bureau_pb2.GetDirectoryRequest, context: grpc.ServicerContext
    ) -> bureau_pb2.GetDirectoryResponse:
        """List the consortium's members as the caller may see them."""
        views = self._handlers.directory.listing(current_peer(context))
        return bureau_pb2.GetDirectoryResponse(
            members=[_entry(v) for v in views], bureau_time=timestamp(self._clock())
        )

    @maps_stream_errors
    def EvaluateBlinded(  # noqa: N802 - gRPC method name
        self, request_iterator: Iterator[tokens_pb2.EvaluateBlindedRequest], context: grpc.ServicerContext
    ) -> Iterator[tokens_pb2.EvaluateBlindedResponse]:
        """Evaluate blinded elements chunk by chunk."""
        peer = current_peer(context)
        correlation_id = uuid.uuid4().hex
        for request in request_iterator:
            check_algorithms(request.header.algorithms)
            epoch, newest, evaluated = self._handlers.oprf.evaluate(
                peer,
                list(request.blinded_elements),
                token_type=token_type_from_proto(request.token_type).value,
                correlation_id=correlation_id,
                epoch=request.key_epoch,
            )
            yield tokens_pb2.EvaluateBlindedResponse(
                key_epoch=epoch,
                newest_key_epoch=newest,
                chunk_index=request.chunk_index,
                last_chunk=request.last_chunk,
                evaluated_elements=evaluated,
            )

    @maps_stream_errors
    def SubjectCheck(  # noqa: N802 - gRPC method name
        self, request_iterator: Iterator[subject_check_pb2.SubjectCheckRequest], context: grpc.ServicerContext
    ) -> Iterator[subject_check_pb2.SubjectCheckResponse]:
        """Route each chunk of a (batched) subject check and return its masked sums."""
        peer = current_peer(context)
        correlation_id = uuid.uuid4().hex
        for request in request_iterator:
            result = self._handlers.subject_check.check(
                peer, chunk_from_proto(request), correlation_id=correlation_id
            )
            _observe_coverage(result, request.subject_count)
            yield result_to_proto(
                result, layout_version=self._handlers.layout_version, last_chunk=request.last_chunk
            )

    @maps_errors
    def ClearContact(  # noqa: N802 - gRPC method name
        self, request: contact_clearance_pb2.ClearContactRequest, context: grpc.ServicerContext
    ) -> contact_clearance_pb2.ClearContactResponse:
        """Decide a contact clearance; a grant reserves its slot."""
        answer = self._handlers.contact.clear(
            current_peer(context), clear_request_from_proto(request), correlation_id=uuid.uuid4().hex
        )
        return answer_to_proto(answer)

    @maps_errors
    def RecordContactOutcome(  # noqa: N802 - gRPC method name
        self, request: contact_clearance_pb2.RecordContactOutcomeRequest, context: grpc.ServicerContext
    ) -> contact_clearance_pb2.RecordContactOutcomeResponse:
        """Settle a reserved slot with what happened."""
        answer = self._handlers.contact.record(
            current_peer(context), outcome_from_proto(request), correlation_id=uuid.uuid4().hex
        )
        return outcome_answer_to_proto(answer)

    @maps_errors
    def PublishContactFlags(  # noqa: N802 - gRPC method name
        self, request: contact_clearance_pb2.PublishContactFlagsRequest, context: grpc.ServicerContext
    ) -> contact_clearance_pb2.PublishContactFlagsResponse:
        """Replace the caller's flag tags for a day."""
        accepted = self._handlers.contact.publish_flags(
            current_peer(context),
            local_day=request.local_day,
            tag_key_epoch=request.tag_key_epoch,
            flags=flags_from_proto(list(request.flags)),
            correlation_id=uuid.uuid4().hex,
        )
        return contact_clearance_pb2.PublishContactFlagsResponse(accepted=accepted)

    @maps_errors
    def RequestSubjectInquiries(  # noqa: N802 - gRPC method name
        self, request: inquiry_history_pb2.RequestSubjectInquiriesRequest, context: grpc.ServicerContext
    ) -> inquiry_history_pb2.RequestSubjectInquiriesResponse:
        """Relay a consented subject-access request to every online member."""
        envelopes, coverage = self._handlers.inquiries.request(
            current_peer(context), relay_from_proto(request), correlation_id=uuid.uuid4().hex
        )
        return inquiry_history_pb2.RequestSubjectInquiriesResponse(
            envelopes=[sealed_inquiries_to_proto(e) for e in envelopes], coverage=coverage_to_proto(coverage)
        )

    @maps_errors
    def RequestReport(  # noqa: N802 - gRPC method name
        self, request: regulator_report_pb2.RequestReportRequest, context: grpc.ServicerContext
    ) -> regulator_report_pb2.RequestReportResponse:
        """A regulator's report: the cached release, or a new one from the members' noised shares."""
        certificate_der = ssl.PEM_cert_to_DER_cert(peer_certificate_pem(context).decode("ascii"))
        answer = self._handlers.reports.request(
            current_peer(context),
            order_from_proto(request, certificate_der=certificate_der),
            correlation_id=uuid.uuid4().hex,
        )
        return release_to_proto(answer.release, answer.template, from_cache=answer.from_cache)

    @maps_errors
    def ContributePseudonyms(  # noqa: N802 - gRPC method name
        self,
        request_iterator: Iterator[regulator_report_pb2.ContributePseudonymsRequest],
        context: grpc.ServicerContext,
    ) -> regulator_report_pb2.ContributePseudonymsResponse:
        """Refused since issue #13: pseudonyms showed the bureau which members hold each borrower."""
        raise PolicyDenied("pseudonym joins are no longer accepted (issue #13)", reason="pseudonyms_retired")

    @maps_errors
    def ContributeReportVector(  # noqa: N802 - gRPC method name
        self,
        request_iterator: Iterator[regulator_report_pb2.ContributeReportVectorRequest],
        context: grpc.ServicerContext,
    ) -> regulator_report_pb2.ContributeReportVectorResponse:
        """A member's masked holders-count vector for the open report round it names."""
        peer = current_peer(context)
        received = 0
        for request in request_iterator:
            chunk = request.chunk
            received = self._handlers.holders.add(
                peer.member_id, chunk.request_hash, chunk.attempt, chunk.chunk_index, chunk.words
            )
        return regulator_report_pb2.ContributeReportVectorResponse(received=received)

    @maps_stream_errors
    def FetchReportVector(  # noqa: N802 - gRPC method name
        self, request: regulator_report_pb2.FetchReportVectorRequest, context: grpc.ServicerContext
    ) -> Iterator[regulator_report_pb2.FetchReportVectorResponse]:
        """The opened holders count (still members-masked) of a request, to a member of its set."""
        words, check = self._handlers.holders.fetch(current_peer(context).member_id, request.request_hash)
        step = 2 * WORDS_PER_CHUNK
        starts = range(0, max(len(words), 1), step)
        for index, start in enumerate(starts):
            last = start + step >= len(words)
            yield regulator_report_pb2.FetchReportVectorResponse(
                chunk=regulator_report_pb2.ReportVectorChunk(
                    request_hash=request.request_hash,
                    attempt=0,
                    chunk_index=index,
                    last_chunk=last,
                    words=words[start : start + step],
                    check=check if last else 0,
                )
            )

    @maps_errors
    def DistributeMembersSecret(  # noqa: N802 - gRPC method name
        self, request: bureau_pb2.DistributeMembersSecretRequest, context: grpc.ServicerContext
    ) -> bureau_pb2.DistributeMembersSecretResponse:
        """Relay a members' secret ceremony's envelopes to their recipients."""
        delivered, failed = self._handlers.secrets.relay(
            current_peer(context), [envelope_from_proto(e) for e in request.envelopes]
        )
        return bureau_pb2.DistributeMembersSecretResponse(
            delivered_member_ids=delivered, failed_member_ids=failed
        )

    @maps_errors
    def InvalidateCachedChecks(  # noqa: N802 - gRPC method name
        self, request: subject_check_pb2.InvalidateCachedChecksRequest, context: grpc.ServicerContext
    ) -> subject_check_pb2.InvalidateCachedChecksResponse:
        """Forget cached answers that counted a listing no longer standing."""
        removed = self._handlers.subject_check.invalidate(
            current_peer(context), list(request.dedup_tags), correlation_id=uuid.uuid4().hex
        )
        return subject_check_pb2.InvalidateCachedChecksResponse(rows_removed=removed)

    @maps_errors
    def GetModel(  # noqa: N802 - gRPC method name
        self, request: models_pb2.GetModelRequest, context: grpc.ServicerContext
    ) -> models_pb2.GetModelResponse:
        """The newest signed shared model of the requested name."""
        from gateway.federation.models import newest_model  # the federated stack loads only here

        model = newest_model(self._handlers.model_runs, request.model_name or "delinquency")
        return models_pb2.GetModelResponse(
            model_name=model.name,
            version=model.version,
            model_file=model.model_file,
            signature=model.signature,
            signer_certificate=model.signer_certificate_der,
        )

    @maps_errors
    def PublishCheckpoint(  # noqa: N802 - gRPC method name
        self, request: bureau_pb2.PublishCheckpointRequest, context: grpc.ServicerContext
    ) -> bureau_pb2.PublishCheckpointResponse:
        """Keep a node's checkpoint publication of its own audit log."""
        self._handlers.transparency.publish(current_peer(context), request.publication)
        return bureau_pb2.PublishCheckpointResponse()

    @maps_errors
    def GetCheckpoints(  # noqa: N802 - gRPC method name
        self, request: bureau_pb2.GetCheckpointsRequest, context: grpc.ServicerContext
    ) -> bureau_pb2.GetCheckpointsResponse:
        """Publications of every log after the sizes the caller names."""
        publications = self._handlers.transparency.publications(
            {position.origin: position.size for position in request.after}, only_listed=request.only_listed
        )
        return bureau_pb2.GetCheckpointsResponse(publications=[p.render() for p in publications])

    @maps_errors
    def AddCosignatures(  # noqa: N802 - gRPC method name
        self, request: bureau_pb2.AddCosignaturesRequest, context: grpc.ServicerContext
    ) -> bureau_pb2.AddCosignaturesResponse:
        """Relay the caller's co-signatures."""
        self._handlers.transparency.add_cosignatures(
            current_peer(context), [(c.origin, c.size, c.line) for c in request.cosignatures]
        )
        return bureau_pb2.AddCosignaturesResponse()

    @maps_errors
    def GetKeyLogEntries(  # noqa: N802 - gRPC method name
        self, request: bureau_pb2.GetKeyLogEntriesRequest, context: grpc.ServicerContext
    ) -> bureau_pb2.GetKeyLogEntriesResponse:
        """Leaves of the consortium key log."""
        end = min(request.end, request.start + MAX_ENTRIES_PER_CALL)
        return bureau_pb2.GetKeyLogEntriesResponse(
            entries=self._handlers.transparency.key_log.entries(request.start, end)
        )

    @maps_errors
    def ConfirmKeyRotation(  # noqa: N802 - gRPC method name
        self, request: bureau_pb2.ConfirmKeyRotationRequest, context: grpc.ServicerContext
    ) -> bureau_pb2.ConfirmKeyRotationResponse:
        """Log a member's confirmation of its own new certificate or log key."""
        index = self._handlers.transparency.confirm_rotation(current_peer(context), request.statement)
        return bureau_pb2.ConfirmKeyRotationResponse(leaf_index=max(index, 0))


def _registered_keys(
    request: bureau_pb2.RegisterRequest, keys: PublishedKeys | None, context: grpc.ServicerContext
) -> RegisteredKeys:
    """The certificate, log key statement and key bundle a node registered with."""
    certificate_der = ssl.PEM_cert_to_DER_cert(peer_certificate_pem(context).decode("ascii"))
    peer = current_peer(context)
    statement = LogKeyStatement(
        peer.member_id, request.log_key.public_key, certificate_der, request.log_key.signature
    )
    if keys is None:
        return RegisteredKeys(certificate_der, statement)
    bundle = KeyBundle(peer.member_id, keys.hpke_public_key, keys.mask_public_key, keys.created_at)
    return RegisteredKeys(certificate_der, statement, bundle, keys.signature)


def _observe_coverage(result: ChunkResult, subjects: int) -> None:
    """Coverage and dropouts of a chunk, for the bureau's metrics (counts only)."""
    coverage = result.coverage
    outcome = "answered" if result.complete else "insufficient_coverage"
    metrics.CHECK_ROWS.labels(outcome=outcome).inc(subjects)
    metrics.CHECK_MEMBERS_ANSWERED.observe(coverage.members_answered)
    metrics.CHECK_DROPOUTS.inc(max(0, coverage.members_asked - coverage.members_answered))


def _entry(view: MemberView) -> bureau_pb2.DirectoryEntry:
    entry = bureau_pb2.DirectoryEntry(
        member_id=view.member_id,
        role=role_to_proto(view.role),
        address=view.address,
        software_version=view.software_version,
        protocol_version=view.protocol_version,
        registered_at=timestamp(view.registered_at),
    )
    if view.last_seen_at is not None:
        entry.last_seen_at.CopyFrom(timestamp(view.last_seen_at))
    if view.keys is not None:
        entry.certificate_der = view.keys.certificate_der
        entry.keys.CopyFrom(
            bureau_pb2.NodeKeys(
                hpke_public_key=view.keys.hpke_public_key,
                mask_public_key=view.keys.mask_public_key,
                created_at=timestamp(view.keys.created_at),
                signature=view.keys.signature,
            )
        )
    return entry


def _published_keys(
    request: bureau_pb2.RegisterRequest, context: grpc.ServicerContext
) -> PublishedKeys | None:
    """The key bundle the caller sent, with the certificate its TLS handshake presented."""
    if not request.HasField("keys"):
        return None
    certificate_pem = peer_certificate_pem(context).decode("ascii")
    return PublishedKeys(
        certificate_der=ssl.PEM_cert_to_DER_cert(certificate_pem),
        hpke_public_key=request.keys.hpke_public_key,
        mask_public_key=request.keys.mask_public_key,
        created_at=from_timestamp(request.keys.created_at, field="keys.created_at"),
        signature=request.keys.signature,
    )

"""The egress guard on the wire: every message a node sends passes here, on servers and channels.

Server side, responses are checked before gRPC serialises them; client side, requests
(and every message of a request stream) are checked before they are handed to gRPC.
A blocked message is never sent: the call fails (FAILED_PRECONDITION on the server; an
:class:`~gateway.egress.guard.EgressBlocked` raised to the caller on a channel) and the
event — message type, field, detector, never the value — is audited.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import grpc
from google.protobuf.message import Message

from gateway.audit import AuditEvent, AuditRecorder, Outcome
from gateway.egress.guard import EgressBlocked, EgressGuard
from gateway.observability import metrics
from gateway.rpc.interceptors.wrapping import Behaviour, rewrap
from gateway.rpc.status import abort_with

EGRESS_ACTION = "egress.blocked"


class EgressAuditor:
    """Records blocked messages in the node's audit log."""

    def __init__(self, audit: AuditRecorder, *, node_id: str, node_role: str) -> None:
        self._audit = audit
        self._node_id = node_id
        self._node_role = node_role

    def checked(self, guard: EgressGuard, message: Message, method: str) -> Message:
        """``message`` once the guard cleared it; audit and re-raise when it did not."""
        try:
            guard.check(message)
        except EgressBlocked as exc:
            metrics.EGRESS_BLOCKED.labels(detector=exc.detector).inc()
            self._audit.record(
                AuditEvent(
                    self._node_id,
                    self._node_role,
                    EGRESS_ACTION,
                    Outcome.DENY,
                    exc.detector,
                    uuid.uuid4().hex,
                    {"method": method, "message_type": exc.message_type, "field": exc.field},
                )
            )
            raise
        return message


class ServerEgressInterceptor(grpc.ServerInterceptor):
    """Checks every response a server sends."""

    def __init__(self, guard: EgressGuard, auditor: EgressAuditor) -> None:
        self._guard = guard
        self._auditor = auditor

    def intercept_service(
        self, continuation: Callable[[grpc.HandlerCallDetails], Any], details: grpc.HandlerCallDetails
    ) -> Any:
        """Wrap the handler so that its responses are checked."""
        method = details.method

        def wrap(behaviour: Behaviour, _requests_stream: bool, responses_stream: bool) -> Behaviour:
            return self._many(method, behaviour) if responses_stream else self._single(method, behaviour)

        return rewrap(continuation(details), wrap)

    def _single(self, method: str, behaviour: Behaviour) -> Behaviour:
        def guarded(request: Any, context: grpc.ServicerContext) -> Any:
            response = behaviour(request, context)
            try:
                return self._auditor.checked(self._guard, response, method)
            except EgressBlocked as exc:
                abort_with(context, exc)

        return guarded

    def _many(self, method: str, behaviour: Behaviour) -> Behaviour:
        def guarded(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
            for response in behaviour(request, context):
                try:
                    yield self._auditor.checked(self._guard, response, method)
                except EgressBlocked as exc:
                    abort_with(context, exc)

        return guarded


class ClientEgressInterceptor(
    grpc.UnaryUnaryClientInterceptor,
    grpc.UnaryStreamClientInterceptor,
    grpc.StreamUnaryClientInterceptor,
    grpc.StreamStreamClientInterceptor,
):
    """Checks every request (and request-stream message) a channel sends."""

    def __init__(self, guard: EgressGuard, auditor: EgressAuditor) -> None:
        self._guard = guard
        self._auditor = auditor

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        """Check, then send."""
        return continuation(details, self._auditor.checked(self._guard, request, details.method))

    def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        """Check, then send."""
        return continuation(details, self._auditor.checked(self._guard, request, details.method))

    def intercept_stream_unary(self, continuation: Any, details: Any, request_iterator: Any) -> Any:
        """Check each message as it is sent."""
        return continuation(details, self._stream(details.method, request_iterator))

    def intercept_stream_stream(self, continuation: Any, details: Any, request_iterator: Any) -> Any:
        """Check each message as it is sent."""
        return continuation(details, self._stream(details.method, request_iterator))

    def _stream(self, method: str, requests: Iterator[Message]) -> Iterator[Message]:
        for request in requests:
            yield self._auditor.checked(self._guard, request, method)


__all__ = ["ClientEgressInterceptor", "EgressAuditor", "ServerEgressInterceptor"]

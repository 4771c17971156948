"""Every RPC a node serves passes here first.

For each call the interceptor (1) reads the caller's identity from its verified
client certificate, never from a request field or metadata, (2) refuses revoked
certificates, (3) asks the policy decision point whether the caller's role may
invoke the method on this node, and (4) writes the decision to the audit log.
A call is refused before any handler runs when any step fails.

Allowed calls of the consortium's own plumbing are not audited: heartbeats (89 % of the
bureau's audit rows before issue #12/#17) and the transparency-log traffic, whose effect is
kept, signed, in the logs themselves. Refusals of those calls are audited like any other.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import grpc

from gateway.audit import AuditEvent, AuditRecorder, Outcome
from gateway.errors import GatewayError, IdentityError, PolicyDenied
from gateway.identity.peer import Peer, peer_from_pem
from gateway.identity.revocation import RevocationList
from gateway.policy import PolicyDecisionPoint
from gateway.rpc.interceptors.wrapping import Behaviour, rewrap
from gateway.rpc.status import abort_internal, abort_with


def current_peer(context: grpc.ServicerContext) -> Peer:
    """Return the caller as its verified client certificate names it.

    Raises
    ------
    IdentityError
        When the channel is not mutual TLS or the certificate lacks credgate URIs.

    """
    return peer_from_pem(peer_certificate_pem(context))


def peer_certificate_pem(context: grpc.ServicerContext) -> bytes:
    """The caller's client certificate (PEM) as the TLS handshake verified it.

    Raises
    ------
    IdentityError
        When the call carries no verified client certificate.

    """
    # At run time the auth context maps each property to a list of bytes values.
    raw: object = context.auth_context().get("x509_pem_cert")
    first = raw[0] if isinstance(raw, list) and raw else None
    if not isinstance(first, bytes):
        raise IdentityError("no verified client certificate on this call", reason="no_client_certificate")
    return first


# Allowed calls that leave no entry here: heartbeats and the transparency log's own traffic; the
# bureau's subject-check stream, whose router audits every chunk itself with its outcome; a
# member's subject-check round, whose responder audits it in the transaction that records the
# round's state, and audits a refused or failed one too; and the finalization of an answered
# attempt, which that round state records durably (a refused one is audited).
UNAUDITED_WHEN_ALLOWED = frozenset(
    {
        "credgate.v1.BureauService/SubjectCheck",
        "credgate.v1.MemberService/ComputeSubjectVectors",
        "credgate.v1.MemberService/FinalizeSubjectRound",
        "credgate.v1.BureauService/Heartbeat",
        "credgate.v1.BureauService/PublishCheckpoint",
        "credgate.v1.BureauService/GetCheckpoints",
        "credgate.v1.BureauService/AddCosignatures",
        "credgate.v1.BureauService/GetKeyLogEntries",
    }
)
"""Plumbing whose allowed calls stay out of the audit log (see the module docstring)."""


class AuthorizationInterceptor(grpc.ServerInterceptor):
    """Authenticate, authorize and audit every call before its handler runs.

    Parameters
    ----------
    policy
        The node's policy decision point.
    revocations
        The CA's revocation list, consulted on every call.
    audit
        Where every decision is recorded.

    """

    def __init__(self, *, policy: PolicyDecisionPoint, revocations: RevocationList, audit: AuditRecorder):
        self._policy = policy
        self._revocations = revocations
        self._audit = audit

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler[Any, Any] | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        """Wrap the method's handler so that :meth:`_admit` runs before it."""
        action = handler_call_details.method.lstrip("/")
        return rewrap(
            continuation(handler_call_details), lambda behaviour, *_: self._guard(action, behaviour)
        )

    def _guard(self, action: str, behaviour: Behaviour) -> Behaviour:
        def guarded(request: Any, context: grpc.ServicerContext) -> Any:
            try:
                refusal = self._admit(action, context)
            except Exception as exc:
                abort_internal(context, exc)
            if refusal is not None:
                abort_with(context, refusal)
            return behaviour(request, context)

        return guarded

    def _admit(self, action: str, context: grpc.ServicerContext) -> GatewayError | None:
        """Return why the call is refused, or ``None`` to let it through; audit either way."""
        correlation_id = uuid.uuid4().hex
        try:
            peer = current_peer(context)
            self._revocations.check(peer.serial)
        except IdentityError as exc:
            self._audit.record(
                AuditEvent.anonymous(
                    action=action, outcome=Outcome.DENY, reason=exc.reason, correlation_id=correlation_id
                )
            )
            return exc
        decision = self._policy.decide(peer, action)
        if decision.allowed and action in UNAUDITED_WHEN_ALLOWED:
            return None
        outcome = Outcome.ALLOW if decision.allowed else Outcome.DENY
        self._audit.record(
            AuditEvent.for_peer(
                peer, action=action, outcome=outcome, reason=decision.reason, correlation_id=correlation_id
            )
        )
        if decision.allowed:
            return None
        return PolicyDenied(f"{action} is not permitted for role {peer.role.value}")

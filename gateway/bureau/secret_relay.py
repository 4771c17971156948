"""The bureau relaying a members' secret ceremony: it forwards envelopes it can neither open nor forge."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from typing import Protocol

from gateway.audit import AuditEvent, AuditRecorder, Outcome
from gateway.bureau.directory import MemberView
from gateway.errors import GatewayError, InvalidInputError
from gateway.identity.peer import Peer
from gateway.node.ceremony import SecretEnvelope

RELAY_ACTION = "members_secret.relay"
_LOG = logging.getLogger(__name__)


class SecretCaller(Protocol):
    """Calls one member's ``ReceiveMembersSecret``."""

    def deliver(self, member: MemberView, envelope: SecretEnvelope, *, timeout: float) -> bool:
        """Whether the member installed the epoch (False: it already held it)."""


class SecretRelay:
    """Forwards each envelope to its recipient and reports who received it."""

    def __init__(
        self,
        *,
        members: Callable[[], Sequence[MemberView]],
        caller: SecretCaller,
        audit: AuditRecorder,
        timeout: float,
    ) -> None:
        self._members = members
        self._caller = caller
        self._audit = audit
        self._timeout = timeout

    def relay(self, initiator: Peer, envelopes: Sequence[SecretEnvelope]) -> tuple[list[str], list[str]]:
        """Deliver every envelope; return the member ids delivered to and those that failed.

        Raises
        ------
        InvalidInputError
            When an envelope does not name the caller as its initiator.

        """
        if any(e.initiator != initiator.member_id for e in envelopes):
            raise InvalidInputError("every envelope must name the caller as initiator", field="envelopes")
        members = {m.member_id: m for m in self._members()}
        delivered: list[str] = []
        failed: list[str] = []
        for envelope in envelopes:
            member = members.get(envelope.recipient)
            try:
                if member is None:
                    raise InvalidInputError("not a registered member", field="recipient_member_id")
                self._caller.deliver(member, envelope, timeout=self._timeout)
                delivered.append(envelope.recipient)
            except GatewayError as exc:
                _LOG.warning("members' secret not delivered to %s: %s", envelope.recipient, exc)
                failed.append(envelope.recipient)
        self._audit.record(
            AuditEvent.for_peer(
                initiator,
                action=RELAY_ACTION,
                outcome=Outcome.ALLOW,
                reason="relayed",
                correlation_id=uuid.uuid4().hex,
                details={
                    "epoch": envelopes[0].epoch if envelopes else 0,
                    "delivered": len(delivered),
                    "failed": len(failed),
                },
            )
        )
        return delivered, failed

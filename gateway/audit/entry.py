"""One audit record: who asked for what, and what was decided.

Entries hold member ids, method names, policy ids, tokens and references —
never a raw national ID, phone number or name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from gateway.identity.peer import Peer
from gateway.store.enums import AuditDecision as Outcome

__all__ = ["ANONYMOUS", "AuditEvent", "Outcome"]

ANONYMOUS = "-"


@dataclass(frozen=True)
class AuditEvent:
    """A decision to be appended to the node's audit log.

    Attributes
    ----------
    actor_member_id, actor_role
        The caller as its certificate names it, ``-`` when it presented none.
    action
        The RPC (``credgate.v1.BureauService/Register``) or operation.
    outcome
        Allow, deny or error.
    reason
        The deciding policy ids or the error's reason code.
    correlation_id
        Links this entry to the log lines and the peer's error message.
    details
        Extra non-PII facts (counts, references).

    """

    actor_member_id: str
    actor_role: str
    action: str
    outcome: Outcome
    reason: str
    correlation_id: str
    details: Mapping[str, str | int] = field(default_factory=dict)

    @classmethod
    def for_peer(
        cls,
        peer: Peer,
        *,
        action: str,
        outcome: Outcome,
        reason: str,
        correlation_id: str,
        details: Mapping[str, str | int] | None = None,
    ) -> AuditEvent:
        """An entry for an authenticated caller."""
        return cls(peer.member_id, peer.role.value, action, outcome, reason, correlation_id, details or {})

    @classmethod
    def anonymous(cls, *, action: str, outcome: Outcome, reason: str, correlation_id: str) -> AuditEvent:
        """An entry for a caller that could not be identified."""
        return cls(ANONYMOUS, ANONYMOUS, action, outcome, reason, correlation_id)

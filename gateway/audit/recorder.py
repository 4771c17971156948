"""Writes audit events to the node's hash-chained audit log and to the structured log."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from gateway.audit.entry import AuditEvent
from gateway.store.repositories.audit import AuditLog

_LOG = logging.getLogger(__name__)


class AuditRecorder:
    """Appends :class:`AuditEvent` records for one node.

    Parameters
    ----------
    log
        The node's append-only audit log.
    node_id
        The deciding node, recorded as every entry's resource.
    clock
        Returns the current UTC time.

    """

    def __init__(self, log: AuditLog, *, node_id: str, clock: Callable[[], dt.datetime]) -> None:
        self._log = log
        self._node_id = node_id
        self._clock = clock

    def record(self, event: AuditEvent) -> None:
        """Append ``event``; a failure to audit propagates (no decision goes unrecorded)."""
        self._log.append(
            actor_member_id=event.actor_member_id,
            actor_role=event.actor_role,
            action=event.action,
            resource=self._node_id,
            decision=event.outcome,
            reason=event.reason,
            correlation_id=event.correlation_id,
            details=dict(event.details),
            at=self._clock(),
        )
        _LOG.info(
            "audit",
            extra={
                "decision": event.outcome.value,
                "action": event.action,
                "member": event.actor_member_id,
                "role": event.actor_role,
                "reason": event.reason,
            },
        )

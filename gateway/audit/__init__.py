"""Audit: every decision a node takes is recorded (who, what, decision, reason)."""

from gateway.audit.entry import AuditEvent, Outcome
from gateway.audit.recorder import AuditRecorder

__all__ = ["AuditEvent", "AuditRecorder", "Outcome"]

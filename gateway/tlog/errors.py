"""Errors of the transparency log: a proof, a signed note or a log's history that does not hold."""

from __future__ import annotations

from gateway.errors import GatewayError

__all__ = [
    "KeyLogAlert",
    "LogIntegrityError",
    "MisbehaviourDetected",
    "NoteError",
    "ProofError",
    "TransparencyError",
]


class TransparencyError(GatewayError):
    """Root of the transparency log's errors."""

    reason = "transparency_failed"


class ProofError(TransparencyError):
    """An inclusion or consistency proof is malformed or does not lead to the expected root."""

    reason = "proof_invalid"


class NoteError(TransparencyError):
    """A signed note, checkpoint or co-signature is malformed or its signature does not verify."""

    reason = "note_invalid"


class LogIntegrityError(TransparencyError):
    """A log's stored entries do not reproduce its signed or co-signed checkpoints.

    ``index`` names the first leaf found wrong, when one is known.
    """

    reason = "log_tampered"

    def __init__(self, message: str, *, index: int | None = None) -> None:
        super().__init__(message)
        self.index = index


class MisbehaviourDetected(TransparencyError):
    """A log signed two views that cannot both be true (split view, failed consistency)."""

    reason = "log_misbehaved"


class KeyLogAlert(TransparencyError):
    """The key log holds a certificate or key for this member that the member does not hold."""

    reason = "key_alert"

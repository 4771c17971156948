"""The guard on bytes of a protocol credgate does not model: Flower's fleet bodies.

Flower's SuperNode speaks protobuf over HTTP to the bureau's relay; its messages carry SecAgg+
ciphertexts, masked vectors and Flower's own bookkeeping. The ClientApp's egress mod already
checked every reply field by field before the SuperNode got it (``federated/egress_mod.py``);
here the member's fleet gateway scans each whole body once more, as raw bytes, for this
node's own resident IDs and mobile numbers written as ASCII digits. Random ciphertext forms
an 11-digit ASCII run about once in 10^15 bytes, so the scan does not refuse masked traffic
by chance. A refused body is not forwarded, and the refusal is audited without the value.
"""

from __future__ import annotations

import os

from gateway.audit import AuditEvent, AuditRecorder, Outcome
from gateway.egress.guard import EgressBlocked
from gateway.egress.index import ExactMatchIndex
from gateway.observability import metrics

__all__ = ["OPAQUE_ACTION", "OpaqueEgress", "refuse"]

OPAQUE_ACTION = "egress.opaque_blocked"


def refuse(
    audit: AuditRecorder, node: tuple[str, str], *, action: str, kind: str, name: str, detector: str
) -> None:
    """Audit a refusal (kind and detector, never the value) and raise :class:`EgressBlocked`."""
    metrics.EGRESS_BLOCKED.labels(detector=detector).inc()
    node_id, node_role = node
    audit.record(
        AuditEvent(node_id, node_role, action, Outcome.DENY, detector, os.urandom(16).hex(), {"kind": kind})
    )
    raise EgressBlocked(message_type=kind, field=name, detector=detector)


class OpaqueEgress:
    """Scans outbound bytes of a foreign protocol against this node's exact-match index."""

    def __init__(self, index: ExactMatchIndex, audit: AuditRecorder, *, node_id: str, node_role: str) -> None:
        self._index = index
        self._audit = audit
        self._node = (node_id, node_role)

    def check(self, data: bytes, *, kind: str, name: str) -> None:
        """Raise :class:`EgressBlocked` (and audit) when ``data`` holds one of this node's identifiers."""
        # latin-1 maps every byte to one character: ASCII digit runs survive, nothing else forms one.
        if self._index.hits(data.decode("latin-1")):
            refuse(
                self._audit,
                self._node,
                action=OPAQUE_ACTION,
                kind=kind,
                name=name,
                detector="exact-match index",
            )

"""The only writer for files that leave a node: reports, exported evidence, envelopes for subjects.

A file is written only once its text is cleared, like a message on the wire: the node's
exact-match index finds none of its own borrowers' PII in any normalised form, and the
structured-identifier detectors (resident IDs, mobiles, landlines, bank cards, credit codes,
e-mail, plates) find nothing. Names and addresses are not searched here: report labels are
Chinese place names by design, and free text has no place in an outbound file. A file that is
not cleared is not written; the refusal (file kind, detector, never the value) is audited.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gateway.audit import AuditRecorder
from gateway.egress.index import ExactMatchIndex
from gateway.egress.opaque import refuse

if TYPE_CHECKING:
    from gateway.egress.redactor import Redactor

__all__ = ["FILE_ACTION", "OutboundFiles"]

FILE_ACTION = "egress.file_blocked"


class OutboundFiles:
    """Writes outbound files after the guard's checks.

    Parameters
    ----------
    index
        This node's exact-match index of its own PII.
    audit
        Where refusals are recorded.
    node_id, node_role
        This node, for the audit entries.

    """

    def __init__(self, index: ExactMatchIndex, audit: AuditRecorder, *, node_id: str, node_role: str) -> None:
        self._index = index
        self._audit = audit
        self._node = (node_id, node_role)
        self._lock = threading.Lock()
        self._detectors: Redactor | None = None

    def write_text(self, path: Path, text: str, *, kind: str) -> Path:
        """Clear ``text`` and write it to ``path`` (atomically: a temporary file, then rename).

        Raises
        ------
        EgressBlocked
            Naming the file kind and the detector; nothing is written.

        """
        return self.write_rendering(path, text.encode("utf-8"), kind=kind, text=text)

    def write_json(self, path: Path, payload: Any, *, kind: str) -> Path:
        """Clear and write ``payload`` as indented JSON."""
        return self.write_text(path, json.dumps(payload, ensure_ascii=False, indent=1) + "\n", kind=kind)

    def write_rendering(self, path: Path, data: bytes, *, kind: str, text: str) -> Path:
        """Write a binary rendering (a PDF) of content whose full ``text`` is cleared first.

        Compressed binary formats cannot be scanned byte by byte; the text they were rendered
        from can, and is.
        """
        self._clear(text, kind=kind, name=path.name)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.tmp")
        temporary.write_bytes(data)
        os.replace(temporary, path)
        return path

    def _clear(self, text: str, *, kind: str, name: str) -> None:
        detector = None
        if self._index.hits(text):
            detector = "exact-match index"
        else:
            findings = self._structured().analyze(text)
            if findings:
                detector = findings[0].entity_type
        if detector is not None:
            refuse(
                self._audit, self._node, action=FILE_ACTION, kind=f"file:{kind}", name=name, detector=detector
            )

    def _structured(self) -> Redactor:
        # Presidio loads only when a file is written (a second or two), never at node start.
        with self._lock:
            if self._detectors is None:
                from gateway.egress.redactor import Redactor

                self._detectors = Redactor.structured_only()
            return self._detectors

"""What a witness does with the publications of one log (C2SP tlog-witness, credgate's relay form).

Given the largest checkpoint it co-signed so far and the log's newer publications, smallest
first, a witness (1) checks each checkpoint's signature with the log's key, (2) checks each
step's consistency proof from the checkpoint before it, (3) co-signs the largest checkpoint
it reached. It never co-signs two checkpoints of one log that are inconsistent. A second root
for a size it co-signed, or a signed proof that fails, becomes evidence
(:mod:`gateway.tlog.evidence`) and stops the walk.

Publications whose signatures do not verify are skipped, not held against the log: the relay
could have garbled them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from gateway.crypto.ed25519 import Ed25519Key
from gateway.tlog.checkpoints import Publication, WitnessedHead
from gateway.tlog.errors import NoteError, ProofError
from gateway.tlog.evidence import inconsistency, rollback, split_view
from gateway.tlog.keys import LogKeyStatement
from gateway.tlog.merkle import verify_consistency
from gateway.tlog.note import NoteVerifier, SignatureLine, cosign, verify_checkpoint

__all__ = ["WitnessResult", "witness_log"]

_LOG = logging.getLogger(__name__)


@dataclass
class WitnessResult:
    """The outcome of one walk: the new head (if it moved), its co-signature, evidence found."""

    head: WitnessedHead | None
    cosignature: SignatureLine | None = None
    evidence: list[dict[str, object]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def witness_log(
    held: WitnessedHead | None,
    publications: Sequence[Publication],
    *,
    log: NoteVerifier,
    statement: LogKeyStatement,
    witness: str,
    key: Ed25519Key,
    timestamp: int,
) -> WitnessResult:
    """Walk ``publications`` from ``held``; co-sign the largest consistent checkpoint reached.

    Parameters
    ----------
    held
        The largest checkpoint of this log the witness co-signed, or ``None``.
    publications
        The log's publications, any order.
    log
        The log's checkpoint verifier (its origin and Ed25519 key).
    statement
        The log key's certificate binding, copied into any evidence.
    witness, key
        The witness's co-signing name and key.
    timestamp
        POSIX seconds for the co-signature.

    """
    head = held
    moved = False
    result = WitnessResult(held)
    for publication in sorted(publications, key=_size):
        try:
            checkpoint = verify_checkpoint(publication.note, log)
        except NoteError as exc:
            result.skipped.append(f"{log.name}: {exc.message}")
            continue
        if head is None or head.size == 0:
            head, moved = WitnessedHead(log.name, checkpoint.size, checkpoint.root, publication.note), True
            continue
        if checkpoint.size == head.size:
            if checkpoint.root != head.root:
                result.evidence.append(split_view(log.name, statement, head.note, publication.note))
                break
            continue
        if checkpoint.size < head.size or publication.old_size > head.size:
            continue  # older, or following a checkpoint this witness missed: a later one may link
        try:
            publication.verify_signature(log.public_key)
        except NoteError as exc:
            result.skipped.append(f"{log.name}: {exc.message}")
            continue
        if publication.old_size < head.size:
            result.evidence.append(rollback(log.name, statement, head.note, publication))
            break
        try:
            verify_consistency(
                head.size, checkpoint.size, head.root, checkpoint.root, list(publication.proof)
            )
        except ProofError:
            result.evidence.append(inconsistency(log.name, statement, head.note, publication))
            break
        head, moved = WitnessedHead(log.name, checkpoint.size, checkpoint.root, publication.note), True
    if head is not None and (moved or held is None):
        line = cosign(head.note.text, name=witness, key=key, timestamp=timestamp)
        head = WitnessedHead(head.origin, head.size, head.root, head.note.with_signatures([line]))
        result.head, result.cosignature = head, line
    return result


def _size(publication: Publication) -> int:
    try:
        return publication.checkpoint.size
    except NoteError:
        return -1

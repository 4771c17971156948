"""Signed proof that a log misbehaved, and its offline verification.

Two kinds, each made only of things the log itself signed, so a regulator or a court holding
nothing but the consortium CA certificate can check them:

* ``split_view``: two checkpoints of one origin with the same size and different roots, both
  signed by the log's key. No honest log signs both (c2sp.org/tlog-checkpoint).
* ``inconsistent``: a checkpoint the log signed earlier, and a later publication whose signed
  consistency proof from that checkpoint does not verify (RFC 9162 §2.1.4.2): the log claimed
  an append-only history it could not prove.
* ``rollback``: a checkpoint the log signed earlier, and a later, larger publication in which
  the log signs that its previous checkpoint was *smaller* than that one: it disowned a
  history it had signed (what a node that rebuilt its log from scratch publishes).

Each carries the log's key statement (``gateway.tlog.keys``), binding the Ed25519 key to the
owner's certificate.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cryptography import x509

from gateway.tlog.checkpoints import Publication
from gateway.tlog.errors import NoteError, ProofError
from gateway.tlog.keys import KEY_LOG_ORIGIN, LogKeyStatement, member_of_origin
from gateway.tlog.merkle import verify_consistency
from gateway.tlog.note import Checkpoint, NoteVerifier, SignedNote, verify_checkpoint

__all__ = [
    "INCONSISTENT",
    "ROLLBACK",
    "SPLIT_VIEW",
    "Finding",
    "inconsistency",
    "rollback",
    "split_view",
    "verify_evidence",
]

SPLIT_VIEW = "split_view"
INCONSISTENT = "inconsistent"
ROLLBACK = "rollback"


@dataclass(frozen=True)
class Finding:
    """What a verified piece of evidence proves."""

    kind: str
    origin: str
    owner: str
    description: str


def split_view(
    origin: str, statement: LogKeyStatement, first: SignedNote, second: SignedNote
) -> dict[str, object]:
    """Evidence of two signed roots for one size (the caller checked both signatures)."""
    return {
        "kind": SPLIT_VIEW,
        "origin": origin,
        "log_key": statement.to_json(),
        "first": first.render(),
        "second": second.render(),
    }


def inconsistency(
    origin: str, statement: LogKeyStatement, earlier: SignedNote, later: Publication
) -> dict[str, object]:
    """Evidence of a signed consistency proof that fails from a checkpoint the log signed."""
    return {
        "kind": INCONSISTENT,
        "origin": origin,
        "log_key": statement.to_json(),
        "earlier": earlier.render(),
        "later": later.render(),
    }


def rollback(
    origin: str, statement: LogKeyStatement, earlier: SignedNote, later: Publication
) -> dict[str, object]:
    """Evidence of a later publication that names a previous size below a checkpoint the log signed."""
    return {
        "kind": ROLLBACK,
        "origin": origin,
        "log_key": statement.to_json(),
        "earlier": earlier.render(),
        "later": later.render(),
    }


def verify_evidence(evidence: object, *, ca_certificate_pem: bytes, bureau_member_id: str) -> Finding:
    """Check a piece of evidence offline; return what it proves.

    Parameters
    ----------
    evidence
        The parsed JSON object kept by a witness.
    ca_certificate_pem
        The consortium CA certificate, the only thing trusted.
    bureau_member_id
        The bureau's member id: the key log's owner.

    Raises
    ------
    NoteError, ProofError
        When the evidence is malformed, its signatures do not verify, or it does not
        show misbehaviour (e.g. the "failing" proof verifies after all).

    """
    if not isinstance(evidence, dict):
        raise NoteError("evidence must be a JSON object")
    origin = str(evidence.get("origin", ""))
    owner = member_of_origin(origin) or (bureau_member_id if origin == KEY_LOG_ORIGIN else None)
    if owner is None:
        raise NoteError(f"evidence names an unknown log {origin!r}")
    statement = LogKeyStatement.from_json(evidence.get("log_key"))
    if statement.member_id != owner:
        raise NoteError(f"log key statement is by {statement.member_id!r}, the log belongs to {owner!r}")
    kind = evidence.get("kind")
    if kind == SPLIT_VIEW:
        first = _note(evidence, "first")
        second = _note(evidence, "second")
        verifier = _verifier(statement, origin, ca_certificate_pem, [first, second])
        a, b = verify_checkpoint(first, verifier), verify_checkpoint(second, verifier)
        if a.size != b.size or a.root == b.root:
            raise NoteError("split-view evidence must hold two roots for one size")
        return Finding(
            SPLIT_VIEW, origin, owner, f"{owner} signed two different roots for size {a.size} of {origin}"
        )
    if kind == INCONSISTENT:
        earlier = _note(evidence, "earlier")
        later = Publication.parse(str(evidence.get("later", "")))
        verifier = _verifier(statement, origin, ca_certificate_pem, [earlier, later.note])
        old, new = verify_checkpoint(earlier, verifier), verify_checkpoint(later.note, verifier)
        later.verify_signature(statement.public_key)
        if later.old_size != old.size or not old.size < new.size:
            raise NoteError("inconsistency evidence must pair a checkpoint with a later publication from it")
        try:
            verify_consistency(old.size, new.size, old.root, new.root, list(later.proof))
        except ProofError:
            return Finding(
                INCONSISTENT,
                origin,
                owner,
                f"{owner} signed a consistency proof from size {old.size} to {new.size} "
                f"of {origin} that fails",
            )
        raise NoteError("the consistency proof in this evidence verifies: no misbehaviour shown")
    if kind == ROLLBACK:
        earlier = _note(evidence, "earlier")
        later = Publication.parse(str(evidence.get("later", "")))
        verifier = _verifier(statement, origin, ca_certificate_pem, [earlier, later.note])
        old, new = verify_checkpoint(earlier, verifier), verify_checkpoint(later.note, verifier)
        later.verify_signature(statement.public_key)
        if not later.old_size < old.size < new.size:
            raise NoteError(
                "rollback evidence must pair a checkpoint with a larger publication from below it"
            )
        return Finding(
            ROLLBACK,
            origin,
            owner,
            f"{owner} signed size {old.size} of {origin}, then published size {new.size} as following size "
            f"{later.old_size}: it disowned its signed history",
        )
    raise NoteError(f"unknown evidence kind {kind!r}")


def _note(evidence: dict[str, object], key: str) -> SignedNote:
    value = evidence.get(key)
    if not isinstance(value, str):
        raise NoteError(f"evidence lacks {key!r}")
    return SignedNote.parse(value)


def _verifier(
    statement: LogKeyStatement, origin: str, ca_certificate_pem: bytes, notes: list[SignedNote]
) -> NoteVerifier:
    """The log's verifier, once the CA vouches for its key (certificate valid when it signed)."""
    for note in notes:
        Checkpoint.from_text(note.text)  # a malformed text fails before any certificate work
    key = statement.verify(ca_certificate_pem=ca_certificate_pem, at=_certificate_time(statement))
    return key.log_verifier(origin)


def _certificate_time(statement: LogKeyStatement) -> dt.datetime:
    """A time inside the certificate's validity: evidence outlives certificates, so judge it then."""
    certificate = x509.load_der_x509_certificate(statement.certificate_der)
    return certificate.not_valid_before_utc + dt.timedelta(seconds=1)

"""Checkpoint publications and where a node keeps them: its own, relayed ones, witness state, evidence.

A *publication* is what a log hands to its witnesses (the body of C2SP tlog-witness
``add-checkpoint``): the size of its previous checkpoint, the consistency proof from it, and
the new signed checkpoint::

    old 20852014
    PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=
    …

    credgate/audit/bank-1
    20852163
    CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=

    — credgate/audit/bank-1 Az3grlgt…

A log publishes each checkpoint with a proof from the one before, so a chain of publications
links every checkpoint to the first. The bureau relays them; signatures make relaying safe.

credgate adds one line to the C2SP form, ``sig <base64>`` after the proof lines: the log's
Ed25519 signature over ``credgate/v1/publication`` and the whole publication but that line.
A proof that fails to verify is then the log's own signed claim, kept as evidence
(:mod:`gateway.tlog.evidence`), not something a relay could have garbled.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
from dataclasses import dataclass

import sqlalchemy as sa

from gateway.clock import Clock
from gateway.crypto.ed25519 import Ed25519Key, ed25519_verify
from gateway.store.database import Store
from gateway.store.models import TlogCheckpoint, TlogEvidence, TlogWitnessState
from gateway.tlog.errors import NoteError
from gateway.tlog.note import Checkpoint, SignatureLine, SignedNote

__all__ = ["CheckpointStore", "Publication", "StoredEvidence", "WitnessedHead"]

_MAX_PROOF_LINES = 63
_PUBLICATION_LABEL = b"credgate/v1/publication\n"


def _b64(value: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise NoteError("publication line is not base64") from None


@dataclass(frozen=True)
class Publication:
    """A signed checkpoint with the consistency proof from the log's previous checkpoint (unverified)."""

    note: SignedNote
    old_size: int
    proof: tuple[bytes, ...]
    signature: bytes = b""

    @classmethod
    def signed(
        cls, note: SignedNote, old_size: int, proof: tuple[bytes, ...], key: Ed25519Key
    ) -> Publication:
        """A publication signed by the log's key."""
        unsigned = cls(note, old_size, proof)
        return cls(note, old_size, proof, key.sign(unsigned.signed_message()))

    def signed_message(self) -> bytes:
        """What the ``sig`` line signs: a label, the old size, the proof and the checkpoint text."""
        lines = [f"old {self.old_size}"] + [base64.b64encode(value).decode("ascii") for value in self.proof]
        return _PUBLICATION_LABEL + ("\n".join(lines) + "\n\n" + self.note.text).encode("utf-8")

    def verify_signature(self, public_key: bytes) -> None:
        """Check the log's ``sig`` line.

        Raises
        ------
        NoteError
            When the line is missing or does not verify.

        """
        if not ed25519_verify(public_key, self.signed_message(), self.signature):
            raise NoteError("publication signature does not verify")

    @property
    def checkpoint(self) -> Checkpoint:
        """The checkpoint in the note's text (its signatures not yet verified)."""
        return Checkpoint.from_text(self.note.text)

    def render(self) -> str:
        """The tlog-witness ``add-checkpoint`` body."""
        lines = [f"old {self.old_size}"] + [base64.b64encode(value).decode("ascii") for value in self.proof]
        if self.signature:
            lines.append("sig " + base64.b64encode(self.signature).decode("ascii"))
        return "\n".join(lines) + "\n\n" + self.note.render()

    @classmethod
    def parse(cls, text: str) -> Publication:
        """Parse :meth:`render`'s form.

        Raises
        ------
        NoteError
            When the old-size line, a proof line or the note is malformed.

        """
        head, separator, note = text.partition("\n\n")
        if not separator:
            raise NoteError("publication has no blank line before its checkpoint")
        lines = head.split("\n")
        signature = b""
        if lines[-1].startswith("sig "):
            signature = _b64(lines.pop()[4:])
        match = re.fullmatch(r"old (0|[1-9][0-9]{0,19})", lines[0])
        if match is None or len(lines) - 1 > _MAX_PROOF_LINES:
            raise NoteError("publication must start with 'old <size>' and hold at most 63 proof lines")
        proof = tuple(_b64(line) for line in lines[1:])
        return cls(SignedNote.parse(note), int(match.group(1)), proof, signature)


@dataclass(frozen=True)
class WitnessedHead:
    """The largest checkpoint of one log this node verified and co-signed."""

    origin: str
    size: int
    root: bytes
    note: SignedNote


@dataclass(frozen=True)
class StoredEvidence:
    """One kept proof of misbehaviour."""

    id: int
    origin: str
    kind: str
    evidence: dict[str, object]
    recorded_at: dt.datetime


class CheckpointStore:
    """Repository over ``tlog_checkpoints``, ``tlog_witness_state`` and ``tlog_evidence``."""

    def __init__(self, store: Store, *, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    def add(self, publication: Publication) -> Publication:
        """Keep ``publication``; when one of the same origin and size is held, merge signatures.

        Returns the publication as now stored. A held one with another root is returned
        unchanged: two signed roots for one size are for the caller to judge (split view).
        """
        checkpoint = publication.checkpoint
        with self._store.transaction() as session:
            row = session.scalar(
                sa.select(TlogCheckpoint).where(
                    TlogCheckpoint.origin == checkpoint.origin, TlogCheckpoint.size == checkpoint.size
                )
            )
            if row is None:
                session.add(
                    TlogCheckpoint(
                        origin=checkpoint.origin,
                        size=checkpoint.size,
                        root=checkpoint.root,
                        note=publication.note.render(),
                        old_size=publication.old_size,
                        proof=_proof_column(publication),
                        received_at=self._clock(),
                    )
                )
                return publication
            held = _publication(row)
            if row.root != checkpoint.root:
                return held
            merged = held.note.with_signatures(publication.note.signatures)
            row.note = merged.render()
            return Publication(merged, held.old_size, held.proof, held.signature)

    def add_signatures(self, origin: str, size: int, lines: list[SignatureLine]) -> None:
        """Merge signature lines (co-signatures) into a held checkpoint; nothing when none is held."""
        with self._store.transaction() as session:
            row = session.scalar(
                sa.select(TlogCheckpoint).where(TlogCheckpoint.origin == origin, TlogCheckpoint.size == size)
            )
            if row is not None:
                row.note = SignedNote.parse(row.note).with_signatures(lines).render()

    def get(self, origin: str, size: int) -> Publication | None:
        """The held checkpoint of ``origin`` at ``size``."""
        with self._store.transaction() as session:
            row = session.scalar(
                sa.select(TlogCheckpoint).where(TlogCheckpoint.origin == origin, TlogCheckpoint.size == size)
            )
            return None if row is None else _publication(row)

    def after(self, origin: str, size: int, *, limit: int = 1000) -> list[Publication]:
        """Held checkpoints of ``origin`` larger than ``size``, smallest first."""
        with self._store.transaction() as session:
            rows = session.scalars(
                sa.select(TlogCheckpoint)
                .where(TlogCheckpoint.origin == origin, TlogCheckpoint.size > size)
                .order_by(TlogCheckpoint.size)
                .limit(limit)
            )
            return [_publication(row) for row in rows]

    def up_to(self, origin: str, size: int, *, limit: int) -> list[Publication]:
        """The ``limit`` largest held checkpoints of ``origin`` not above ``size``, smallest first."""
        with self._store.transaction() as session:
            rows = session.scalars(
                sa.select(TlogCheckpoint)
                .where(TlogCheckpoint.origin == origin, TlogCheckpoint.size <= size)
                .order_by(TlogCheckpoint.size.desc())
                .limit(limit)
            )
            return [_publication(row) for row in rows][::-1]

    def all(self, origin: str) -> list[Publication]:
        """Every held checkpoint of ``origin``, smallest first."""
        return self.after(origin, -1, limit=1_000_000)

    def latest(self, origin: str) -> Publication | None:
        """The largest held checkpoint of ``origin``."""
        with self._store.transaction() as session:
            row = session.scalar(
                sa.select(TlogCheckpoint)
                .where(TlogCheckpoint.origin == origin)
                .order_by(TlogCheckpoint.size.desc())
                .limit(1)
            )
            return None if row is None else _publication(row)

    def origins(self) -> list[str]:
        """Every origin with a held checkpoint."""
        with self._store.transaction() as session:
            return list(
                session.scalars(sa.select(TlogCheckpoint.origin).distinct().order_by(TlogCheckpoint.origin))
            )

    def witnessed(self, origin: str) -> WitnessedHead | None:
        """The largest checkpoint of ``origin`` this node co-signed."""
        with self._store.transaction() as session:
            row = session.get(TlogWitnessState, origin)
            if row is None:
                return None
            return WitnessedHead(row.origin, row.size, row.root, SignedNote.parse(row.note))

    def set_witnessed(self, head: WitnessedHead) -> None:
        """Record ``head`` as the largest co-signed checkpoint of its log."""
        with self._store.transaction() as session:
            row = session.get(TlogWitnessState, head.origin)
            if row is None:
                session.add(
                    TlogWitnessState(
                        origin=head.origin,
                        size=head.size,
                        root=head.root,
                        note=head.note.render(),
                        updated_at=self._clock(),
                    )
                )
            else:
                row.size, row.root, row.note, row.updated_at = (
                    head.size,
                    head.root,
                    head.note.render(),
                    self._clock(),
                )

    def add_evidence(self, origin: str, kind: str, evidence: dict[str, object]) -> int:
        """Keep one proof of misbehaviour; return its id."""
        with self._store.transaction() as session:
            row = TlogEvidence(
                origin=origin,
                kind=kind,
                evidence=json.dumps(evidence, sort_keys=True, separators=(",", ":")),
                recorded_at=self._clock(),
            )
            session.add(row)
            session.flush()
            return row.id

    def evidence(self, origin: str | None = None) -> list[StoredEvidence]:
        """Kept proofs of misbehaviour, oldest first (of one log, or all)."""
        query = sa.select(TlogEvidence).order_by(TlogEvidence.id)
        if origin is not None:
            query = query.where(TlogEvidence.origin == origin)
        with self._store.transaction() as session:
            return [
                StoredEvidence(row.id, row.origin, row.kind, json.loads(row.evidence), row.recorded_at)
                for row in session.scalars(query)
            ]


def _proof_column(publication: Publication) -> str:
    lines = [base64.b64encode(value).decode("ascii") for value in publication.proof]
    if publication.signature:
        lines.append("sig " + base64.b64encode(publication.signature).decode("ascii"))
    return "\n".join(lines)


def _publication(row: TlogCheckpoint) -> Publication:
    lines = [line for line in row.proof.split("\n") if line]
    signature = _b64(lines.pop()[4:]) if lines and lines[-1].startswith("sig ") else b""
    return Publication(
        SignedNote.parse(row.note), row.old_size, tuple(_b64(line) for line in lines), signature
    )

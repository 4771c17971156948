"""``credgate audit verify``: a node's audit log against its own and the witnesses' checkpoints.

The check reads every entry in leaf order and recomputes, from the entries alone:

1. each leaf hash (an edited entry, or two swapped, no longer hash to the stored leaf);
2. the leaf indices (a deleted entry leaves a gap);
3. the root at the size of every signed checkpoint: the node's own, those it holds with
   the witnesses' co-signatures, and those the bureau relayed (what the witnesses saw);
   a history rebuilt after a checkpoint was signed no longer matches it;
4. the size: a log shorter than a checkpoint its witnesses co-signed lost its tail;
5. the stored tree (a root from the stored interior nodes equal to the recomputed one);
6. the local hash chain of the entries (``prev_hash``).

It raises :class:`~gateway.tlog.errors.LogIntegrityError` naming the first problem.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import sqlalchemy as sa

from gateway.store.database import Store
from gateway.store.errors import AuditChainError
from gateway.store.models import AuditRecord
from gateway.store.repositories.audit import AUDIT_LOG, AuditLog, audit_leaf_data, hashed_fields
from gateway.tlog.checkpoints import Publication
from gateway.tlog.errors import LogIntegrityError, NoteError
from gateway.tlog.merkle import RootBuilder, leaf_hash
from gateway.tlog.note import Checkpoint, NoteVerifier, verify_checkpoint, verify_cosignature
from gateway.tlog.tree import SqlTree

__all__ = ["AuditVerification", "verify_audit_log"]


@dataclass
class AuditVerification:
    """What a successful verification covered."""

    origin: str
    size: int
    checkpoints: int
    largest_checkpoint: int
    cosigners: dict[int, list[str]] = field(default_factory=dict)

    @property
    def largest_cosigned(self) -> tuple[int, list[str]] | None:
        """The largest checkpoint with co-signatures and who co-signed it."""
        sizes = [size for size, names in self.cosigners.items() if names]
        return None if not sizes else (max(sizes), self.cosigners[max(sizes)])


def verify_audit_log(
    store: Store,
    *,
    log: NoteVerifier,
    publications: Iterable[Publication],
    witnesses: Iterable[NoteVerifier] = (),
) -> AuditVerification:
    """Verify the audit log in ``store`` (see the module docstring).

    Parameters
    ----------
    store
        The node's store.
    log
        The node's own checkpoint verifier (origin and Ed25519 key).
    publications
        Signed checkpoints to hold the log to: the node's own, and those the bureau relays
        with the witnesses' co-signatures. A publication whose log signature does not verify
        is ignored (a relay could garble it); two valid roots for one size are an error.
    witnesses
        Co-signers whose co-signatures are counted (others are ignored).

    Raises
    ------
    LogIntegrityError
        Naming the first entry found altered, removed or reordered, a checkpoint the entries
        do not reproduce, or a lost tail.

    """
    roots: dict[int, Checkpoint] = {}
    cosigners: dict[int, list[str]] = {}
    witness_list = list(witnesses)
    for publication in publications:
        try:
            checkpoint = verify_checkpoint(publication.note, log)
        except NoteError:
            continue
        held = roots.get(checkpoint.size)
        if held is not None and held.root != checkpoint.root:
            raise LogIntegrityError(
                f"two different roots were signed for size {checkpoint.size} of {log.name}",
                index=checkpoint.size,
            )
        roots[checkpoint.size] = checkpoint
        names = cosigners.setdefault(checkpoint.size, [])
        for witness in witness_list:
            for line in publication.note.signatures:
                if line.name == witness.name and line.key_id == witness.key_id and witness.name not in names:
                    try:
                        verify_cosignature(publication.note.text, line, witness)
                    except NoteError:
                        continue
                    names.append(witness.name)
    tree = SqlTree(AUDIT_LOG)
    builder = RootBuilder()
    built_root: bytes | None = None
    with store.transaction() as session:
        built = tree.size(session)
        stored = tree.leaf_hashes(session)
        records = session.scalars(
            sa.select(AuditRecord).order_by(AuditRecord.leaf_index).execution_options(yield_per=2000)
        )
        for record in records:
            expected = builder.size
            if record.leaf_index != expected:
                raise LogIntegrityError(
                    f"audit entry at leaf {expected} is missing (next entry is leaf {record.leaf_index}): "
                    "an entry was deleted",
                    index=expected,
                )
            value = leaf_hash(audit_leaf_data(record.leaf_index, hashed_fields(record)))
            in_tree = next(stored, None) if expected < built else (expected, value)
            if value != record.leaf_hash or in_tree != (expected, value):
                raise LogIntegrityError(
                    f"audit entry {record.seq} (leaf {expected}) does not match the leaf "
                    "the log committed to: it was altered or moved",
                    index=expected,
                )
            builder.push(value)
            _check_root(roots, builder, log.name)
            if builder.size == built:
                built_root = builder.root()
        size = builder.size
        if built > size:
            raise LogIntegrityError(
                f"the tree of {log.name} holds {built} leaves but the log {size} entries: "
                "entries at the end were removed",
                index=size,
            )
        if built and tree.root(session, built) != built_root:
            raise LogIntegrityError(f"the stored tree of {log.name} does not match its entries")
    largest = max(roots, default=0)
    if largest > size:
        witnessed = ", ".join(cosigners.get(largest, [])) or "its own signature"
        raise LogIntegrityError(
            f"the log holds {size} entries but a checkpoint of size {largest} was signed "
            f"(co-signed by {witnessed}): entries at the end were removed",
            index=size,
        )
    try:
        AuditLog(store).verify_chain()
    except AuditChainError as exc:
        raise LogIntegrityError(exc.message) from exc
    return AuditVerification(log.name, size, len(roots), largest, cosigners)


def _check_root(roots: dict[int, Checkpoint], builder: RootBuilder, origin: str) -> None:
    checkpoint = roots.get(builder.size)
    if checkpoint is not None and checkpoint.root != builder.root():
        raise LogIntegrityError(
            f"the first {builder.size} entries of {origin} do not reproduce "
            "the signed checkpoint of that size: "
            "history was rewritten after it was signed",
            index=builder.size,
        )

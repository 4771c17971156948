"""The append-only audit log: a transparency log (RFC 9162 Merkle tree) plus a local hash chain.

Every entry is leaf ``leaf_index`` of the node's transparency log (``gateway.tlog``); its leaf
data is :func:`audit_leaf_data`, the canonical JSON of the entry with its leaf index, so
altering, removing or reordering an entry changes the tree. The node signs checkpoints of
that tree and the other members co-sign them, so a history rebuilt locally no longer matches
what the witnesses saw (``gateway.tlog.verify``).

Each entry also stores ``prev_hash`` (the previous entry's hash, 64 zeros for the
first) and ``entry_hash = SHA-256(prev_hash ‖ LF ‖ canonical JSON)``, where
the canonical JSON holds every other field except ``seq`` with sorted keys and
no whitespace. Changing, removing or reordering any entry breaks every later
link, which :meth:`AuditLog.verify_chain` detects. The database rejects UPDATE
and DELETE on the table (migration 0001), and ``prev_hash`` is unique so the
chain cannot fork.

``details`` must hold tokens, references and counts, never raw PII: a value
that looks like a resident ID or a mobile number is refused.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from gateway.errors import InvalidInputError
from gateway.store.database import Store
from gateway.store.enums import AuditDecision
from gateway.store.errors import AuditChainError
from gateway.store.models import AuditRecord
from gateway.store.models.base import table_of
from gateway.tlog.errors import LogIntegrityError
from gateway.tlog.merkle import leaf_hash
from gateway.tlog.tree import SqlTree

JSONValue: TypeAlias = str | int | float | bool | list["JSONValue"] | dict[str, "JSONValue"] | None

GENESIS_HASH = "0" * 64
_PII_LIKE = re.compile(r"(?<![0-9A-Za-z])(?:[1-9]\d{16}[\dXx]|[1-9]\d{14}|1[3-9]\d{9})(?![0-9A-Za-z])")


@dataclass(frozen=True)
class AuditEntry:
    """One verified-shape audit entry as stored (hashes as lowercase hex)."""

    seq: int
    recorded_at: dt.datetime
    actor_member_id: str
    actor_role: str
    action: str
    resource: str
    decision: AuditDecision
    reason: str
    correlation_id: str
    details: dict[str, JSONValue]
    prev_hash: str
    entry_hash: str
    leaf_index: int


AUDIT_LOG = "audit"
"""Name of the node's audit log in ``tlog_nodes``."""
_LEAF_LABEL = b"credgate/v1/audit-entry\n"


def audit_leaf_data(leaf_index: int, hashed_fields: Mapping[str, object]) -> bytes:
    """The transparency-log leaf of an audit entry: a label, then canonical JSON of the entry.

    ``hashed_fields`` is the entry as :func:`compute_entry_hash` takes it (timestamp as ISO
    UTC, details parsed); the leaf index is part of the leaf, so an entry cannot move.
    """
    return _LEAF_LABEL + canonical_json({**hashed_fields, "leaf_index": leaf_index}).encode("utf-8")


@dataclass(frozen=True)
class AuditHead:
    """Where the chain ended when someone looked: kept outside the store to detect a lost tail."""

    seq: int
    entry_hash: str


def canonical_json(value: object) -> str:
    """Return the canonical JSON text used for hashing: sorted keys, compact, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def compute_entry_hash(prev_hash: str, fields: Mapping[str, object]) -> str:
    """Return ``SHA-256(prev_hash ‖ LF ‖ canonical_json(fields))`` as hex.

    Parameters
    ----------
    prev_hash
        Hex hash of the previous entry (:data:`GENESIS_HASH` for the first).
    fields
        Every entry field except ``seq``, ``prev_hash`` and ``entry_hash``;
        ``recorded_at`` as an ISO 8601 UTC string with microseconds.

    """
    payload = prev_hash.encode("ascii") + b"\n" + canonical_json(fields).encode("utf-8")
    return hashlib.sha256(payload).hexdigest()


class AuditLog:
    """Repository over the ``audit_log`` table.

    Parameters
    ----------
    store
        The node's store; every method runs in :meth:`Store.transaction`, so a
        caller's surrounding transaction makes the entry atomic with its action.

    """

    def __init__(self, store: Store) -> None:
        self._store = store

    def append(
        self,
        *,
        actor_member_id: str,
        actor_role: str,
        action: str,
        resource: str,
        decision: AuditDecision,
        reason: str,
        correlation_id: str,
        details: Mapping[str, JSONValue],
        at: dt.datetime,
    ) -> AuditEntry:
        """Append one entry at the end of the chain and return it.

        Raises
        ------
        InvalidInputError
            When ``at`` is naive, or ``details`` is not JSON or holds a value
            shaped like a resident ID or mobile number.
        StoreError
            When the database refuses the write.

        """
        if at.tzinfo is None or at.utcoffset() is None:
            raise InvalidInputError("expected a time-zone aware timestamp", field="at")
        details_json = _checked_details(details)
        recorded_at = at.astimezone(dt.UTC)
        fields: dict[str, Any] = {
            "recorded_at": recorded_at,
            "actor_member_id": actor_member_id,
            "actor_role": actor_role,
            "action": action,
            "resource": resource,
            "decision": decision,
            "reason": reason,
            "correlation_id": correlation_id,
            "details": details_json,
        }
        hashed = _hash_input(fields)
        # Hot path (one append per RPC): prebuilt Core statements, no ORM unit of work.
        with self._store.connection() as connection:
            _lock_chain(connection)
            last = connection.execute(_LAST).first()
            prev_hash, leaf_index = (GENESIS_HASH, 0) if last is None else (last[0], last[1] + 1)
            entry_hash = compute_entry_hash(prev_hash, hashed)
            # The leaf hash is committed with the entry; the tree over the leaves is built when
            # the node signs its next checkpoint (:func:`build_tree`), off the request's path.
            leaf = leaf_hash(audit_leaf_data(leaf_index, hashed))
            seq = connection.execute(
                _INSERT,
                {
                    **fields,
                    "prev_hash": prev_hash,
                    "entry_hash": entry_hash,
                    "leaf_index": leaf_index,
                    "leaf_hash": leaf,
                },
            ).scalar_one()
        return AuditEntry(
            seq=seq,
            recorded_at=recorded_at,
            actor_member_id=actor_member_id,
            actor_role=actor_role,
            action=action,
            resource=resource,
            decision=decision,
            reason=reason,
            correlation_id=correlation_id,
            details=json.loads(details_json),
            prev_hash=prev_hash,
            entry_hash=entry_hash,
            leaf_index=leaf_index,
        )

    def entries(self, *, after_seq: int = 0, limit: int | None = None) -> list[AuditEntry]:
        """Return entries with ``seq > after_seq`` in chain order, at most ``limit`` of them."""
        query = sa.select(AuditRecord).where(AuditRecord.seq > after_seq).order_by(AuditRecord.seq)
        if limit is not None:
            query = query.limit(limit)
        with self._store.transaction() as session:
            return [_to_entry(record) for record in session.scalars(query)]

    def head(self) -> AuditHead | None:
        """The last entry's ``(seq, entry_hash)``, to keep outside the store (``None`` when empty)."""
        with self._store.transaction() as session:
            row = session.execute(
                sa.select(AuditRecord.seq, AuditRecord.entry_hash).order_by(AuditRecord.seq.desc()).limit(1)
            ).first()
        return None if row is None else AuditHead(row.seq, row.entry_hash)

    def verify_chain(self, *, known_head: AuditHead | None = None) -> None:
        """Check every link of the chain from the first entry to the last.

        A chain cut short still links up, so a lost tail (entries acknowledged, then lost
        with the disk) is only visible against a head recorded earlier elsewhere:
        ``known_head`` must still be in the chain, at its place, with its hash.
        (Witnessed checkpoints exchanged between nodes are the consortium-wide form.)

        Raises
        ------
        AuditChainError
            Naming the first entry whose ``prev_hash`` does not match its
            predecessor or whose ``entry_hash`` does not match its content, or
            the recorded head the chain no longer reaches.

        """
        expected_prev = GENESIS_HASH
        last_seq = 0
        reached = known_head is None
        for record in self._iter_records():
            if record.prev_hash != expected_prev:
                raise AuditChainError(
                    f"audit entry {record.seq}: prev_hash does not match the previous entry "
                    "(an entry was removed, inserted or reordered)",
                    seq=record.seq,
                )
            if compute_entry_hash(record.prev_hash, hashed_fields(record)) != record.entry_hash:
                raise AuditChainError(
                    f"audit entry {record.seq}: entry_hash does not match its content (entry altered)",
                    seq=record.seq,
                )
            expected_prev, last_seq = record.entry_hash, record.seq
            if known_head is not None and record.seq == known_head.seq:
                if record.entry_hash != known_head.entry_hash:
                    raise AuditChainError(
                        f"audit entry {record.seq} differs from the head recorded earlier "
                        "(history was rewritten)",
                        seq=record.seq,
                    )
                reached = True
        if not reached:
            assert known_head is not None
            raise AuditChainError(
                f"the audit log ends at entry {last_seq} but entry {known_head.seq} was recorded "
                "earlier: its tail was lost",
                seq=last_seq + 1,
            )

    def _iter_records(self) -> Iterator[AuditRecord]:
        with self._store.transaction() as session:
            yield from session.scalars(
                sa.select(AuditRecord).order_by(AuditRecord.seq).execution_options(yield_per=1000)
            )


_TREE = SqlTree(AUDIT_LOG)
_AUDIT_TABLE = table_of(AuditRecord)
_LAST = (
    sa.select(_AUDIT_TABLE.c.entry_hash, _AUDIT_TABLE.c.leaf_index)
    .order_by(_AUDIT_TABLE.c.leaf_index.desc())
    .limit(1)
)


def build_tree(session: Session) -> int:
    """Extend the audit log's tree with the leaves committed since it was last built; return its size.

    Takes the tree's lock (one builder at a time). The leaf hashes are read as committed with
    their entries; a gap in the leaf indices means an entry was removed.

    Raises
    ------
    LogIntegrityError
        When the entries after the built tree do not follow on from it.

    """
    _TREE.lock(session)
    built = _TREE.size(session)
    rows = session.execute(
        sa.select(AuditRecord.leaf_index, AuditRecord.leaf_hash)
        .where(AuditRecord.leaf_index >= built)
        .order_by(AuditRecord.leaf_index)
    ).all()
    for offset, (index, _) in enumerate(rows):
        if index != built + offset:
            raise LogIntegrityError(
                f"audit entry at leaf {built + offset} is missing: the tree cannot be extended",
                index=built + offset,
            )
    if rows:
        _TREE.append(session, [bytes(value) for _, value in rows])
    return built + len(rows)


_INSERT = sa.insert(_AUDIT_TABLE).returning(_AUDIT_TABLE.c.seq)


def _lock_chain(connection: Connection) -> None:
    """Serialise appenders so that each reads the true last entry (locking operation).

    PostgreSQL: SHARE ROW EXCLUSIVE conflicts with itself, so concurrent
    appenders queue while plain readers continue. SQLite: every transaction of
    the store begins IMMEDIATE (``gateway.store.engine``), so it already holds
    the single write lock. The unique ``prev_hash`` is the backstop either way.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("LOCK TABLE audit_log IN SHARE ROW EXCLUSIVE MODE"))


def _checked_details(details: Mapping[str, JSONValue]) -> str:
    try:
        text = canonical_json(dict(details))
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"details must be JSON-serialisable: {exc}", field="details") from exc
    if _PII_LIKE.search(text):
        raise InvalidInputError(
            "details hold a value shaped like a resident ID or mobile number; "
            "audit entries may carry tokens and references only",
            field="details",
        )
    return text


def hashed_fields(record: AuditRecord) -> dict[str, object]:
    """The entry's fields as its hash and its transparency-log leaf take them."""
    return _hash_input({column: getattr(record, column) for column in _HASHED_COLUMNS})


_HASHED_COLUMNS = (
    "recorded_at",
    "actor_member_id",
    "actor_role",
    "action",
    "resource",
    "decision",
    "reason",
    "correlation_id",
    "details",
)


def _hash_input(fields: Mapping[str, Any]) -> dict[str, object]:
    """The hashed form of an entry's fields (timestamp as ISO UTC, details parsed)."""
    return {
        **{column: fields[column] for column in _HASHED_COLUMNS},
        "recorded_at": fields["recorded_at"].astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "decision": str(fields["decision"]),
        "details": json.loads(fields["details"]),
    }


def _to_entry(record: AuditRecord) -> AuditEntry:
    details: Any = json.loads(record.details)
    if not isinstance(details, dict):
        raise AuditChainError(f"audit entry {record.seq}: details are not a JSON object", seq=record.seq)
    return AuditEntry(
        seq=record.seq,
        recorded_at=record.recorded_at,
        actor_member_id=record.actor_member_id,
        actor_role=record.actor_role,
        action=record.action,
        resource=record.resource,
        decision=AuditDecision(record.decision),
        reason=record.reason,
        correlation_id=record.correlation_id,
        details=details,
        prev_hash=record.prev_hash,
        entry_hash=record.entry_hash,
        leaf_index=record.leaf_index,
    )

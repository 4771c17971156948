"""The SQL-backed Merkle tree of one log: append leaf hashes, read roots and proofs.

The tree keeps the hash of every perfect subtree in ``tlog_nodes`` (see
:mod:`gateway.tlog.merkle`). Appending leaf ``n`` inserts its hash at level 0 and, while the
new node is a right child, its parent: one row per leaf plus one per completed subtree,
about two rows per leaf in all. A root or a proof reads at most ``2·log2(n)`` rows in one
query. Nothing is ever updated: a log is rewritten only by someone who bypasses this code,
and :mod:`gateway.tlog.verify` and the witnesses find that.

Every function runs on the caller's session (or a migration's connection), so a leaf and the
record it commits to are written in one transaction. Appenders of one log must be
serialised by the caller (:meth:`SqlTree.lock`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from gateway.store.models import TlogNode
from gateway.tlog.errors import LogIntegrityError
from gateway.tlog.merkle import (
    EMPTY_ROOT,
    Node,
    consistency_ranges,
    fetch_ranges,
    inclusion_ranges,
    node_hash,
    perfect_nodes,
    range_hash,
)

__all__ = ["SqlTree"]

Executor = Session | Connection
_NODES = TlogNode.__table__
_BATCH = 5000


class SqlTree:
    """The Merkle tree of the log named ``log`` in the store's ``tlog_nodes`` table."""

    def __init__(self, log: str) -> None:
        self.log = log
        self._size = sa.select(sa.func.max(_NODES.c.idx)).where(_NODES.c.log == log, _NODES.c.level == 0)

    def lock(self, db: Executor) -> None:
        """Serialise appenders of this log until the transaction ends (locking operation).

        PostgreSQL: a transaction-scoped advisory lock on the log's name. SQLite: every
        store transaction begins IMMEDIATE, so the writer already holds the database lock.
        """
        dialect = db.dialect if isinstance(db, Connection) else db.get_bind().dialect
        if dialect.name == "postgresql":
            db.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:log))"), {"log": f"tlog:{self.log}"})

    def size(self, db: Executor) -> int:
        """Number of leaves in the tree."""
        last = db.execute(self._size).scalar()
        return 0 if last is None else int(last) + 1

    def nodes(self, db: Executor, wanted: Iterable[Node]) -> dict[Node, bytes]:
        """The stored hashes of ``wanted`` perfect nodes, in one query per batch.

        Raises
        ------
        LogIntegrityError
            When a node the tree must hold is missing (rows were deleted).

        """
        keys = sorted(set(wanted))
        found: dict[Node, bytes] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            rows = db.execute(
                sa.select(_NODES.c.level, _NODES.c.idx, _NODES.c.hash).where(
                    _NODES.c.log == self.log, sa.tuple_(_NODES.c.level, _NODES.c.idx).in_(chunk)
                )
            )
            found.update({(int(level), int(idx)): bytes(value) for level, idx, value in rows})
        missing = [node for node in keys if node not in found]
        if missing:
            level, idx = missing[0]
            raise LogIntegrityError(
                f"log {self.log!r}: tree node (level {level}, index {idx}) is missing", index=idx << level
            )
        return found

    def append(self, db: Executor, leaf_hashes: Sequence[bytes]) -> int:
        """Append ``leaf_hashes`` at the end of the tree; return the index of the first one.

        The caller holds :meth:`lock` for this log.
        """
        first = self.size(db)
        frontier = self.nodes(db, perfect_nodes(0, first)) if first else {}
        rows: list[dict[str, object]] = []
        index = first
        for value in leaf_hashes:
            level, idx, current = 0, index, value
            rows.append({"log": self.log, "level": 0, "idx": idx, "hash": current})
            frontier[(0, idx)] = current
            while idx & 1:
                current = node_hash(frontier.pop((level, idx - 1)), frontier.pop((level, idx)))
                level, idx = level + 1, idx >> 1
                frontier[(level, idx)] = current
                rows.append({"log": self.log, "level": level, "idx": idx, "hash": current})
            index += 1
            if len(rows) >= _BATCH:
                db.execute(sa.insert(TlogNode), rows)
                rows = []
        if rows:
            db.execute(sa.insert(TlogNode), rows)
        return first

    def root(self, db: Executor, size: int | None = None) -> bytes:
        """``MTH(D[size])``; the whole tree when ``size`` is ``None``."""
        size = self.size(db) if size is None else size
        if size == 0:
            return EMPTY_ROOT
        return range_hash(0, size, self.nodes(db, perfect_nodes(0, size)))

    def inclusion_proof(self, db: Executor, index: int, size: int) -> list[bytes]:
        """``PATH(index, D[size])`` (RFC 9162 §2.1.3.1)."""
        return self._hashes(db, inclusion_ranges(index, size))

    def consistency_proof(self, db: Executor, old_size: int, new_size: int) -> list[bytes]:
        """``PROOF(old_size, D[new_size])`` (RFC 9162 §2.1.4.1); empty when the sizes are equal."""
        if old_size == new_size:
            return []
        return self._hashes(db, consistency_ranges(old_size, new_size))

    def leaf_hashes(
        self, db: Executor, start: int = 0, end: int | None = None
    ) -> Iterator[tuple[int, bytes]]:
        """``(index, leaf hash)`` for the stored leaves in ``[start, end)``, in index order."""
        query = (
            sa.select(_NODES.c.idx, _NODES.c.hash)
            .where(_NODES.c.log == self.log, _NODES.c.level == 0, _NODES.c.idx >= start)
            .order_by(_NODES.c.idx)
            .execution_options(yield_per=2000)
        )
        if end is not None:
            query = query.where(_NODES.c.idx < end)
        for idx, value in db.execute(query):
            yield int(idx), bytes(value)

    def _hashes(self, db: Executor, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
        nodes: Mapping[Node, bytes] = self.nodes(db, fetch_ranges(ranges))
        return [range_hash(start, end, nodes) for start, end in ranges]

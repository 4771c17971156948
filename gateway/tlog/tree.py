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

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

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
_LAST_LEAF = sa.text(
    "SELECT idx, hash FROM tlog_nodes WHERE log = :log AND level = 0 ORDER BY idx DESC LIMIT 1"
)
_INSERT = sa.text("INSERT INTO tlog_nodes (log, level, idx, hash) VALUES (:log, :level, :idx, :hash)")


class SqlTree:
    """The Merkle tree of the log named ``log`` in the store's ``tlog_nodes`` table."""

    def __init__(self, log: str) -> None:
        self.log = log
        self._size = sa.select(sa.func.max(_NODES.c.idx)).where(_NODES.c.log == log, _NODES.c.level == 0)
        self._frontier: tuple[int, dict[Node, bytes], bytes | None] | None = None

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
        by_level: dict[int, list[int]] = {}
        for level, idx in keys:
            by_level.setdefault(level, []).append(idx)
        found: dict[Node, bytes] = {}
        if by_level:
            # One SELECT per level joined by UNION ALL: SQLite then searches the full primary key
            # (log, level, idx) for each; a row-value IN would scan every node of the log. Plain
            # SQL text: building and compiling a new expression per proof cost more than the query.
            parts: list[str] = []
            params: dict[str, object] = {"log": self.log}
            for level, indices in sorted(by_level.items()):
                names = [f"i{level}_{n}" for n in range(len(indices))]
                parts.append(
                    f"SELECT level, idx, hash FROM tlog_nodes WHERE log = :log AND level = {level:d} "
                    f"AND idx IN ({', '.join(':' + name for name in names)})"
                )
                params.update(zip(names, indices, strict=True))
            rows = db.execute(sa.text(" UNION ALL ".join(parts)), params)
            found.update({(int(level), int(idx)): bytes(value) for level, idx, value in rows})
        missing = [node for node in keys if node not in found]
        if missing:
            level, idx = missing[0]
            raise LogIntegrityError(
                f"log {self.log!r}: tree node (level {level}, index {idx}) is missing", index=idx << level
            )
        return found

    def append_one(self, db: Executor, leaf_of: Callable[[int], bytes]) -> int:
        """Append the leaf hash ``leaf_of(index)`` at the end; return its index (the leaf names its place)."""
        return self._append(db, lambda first: [leaf_of(first)])

    def append(self, db: Executor, leaf_hashes: Sequence[bytes]) -> int:
        """Append ``leaf_hashes`` at the end of the tree; return the index of the first one.

        The caller holds :meth:`lock` for this log.
        """
        return self._append(db, lambda _first: leaf_hashes)

    def _append(self, db: Executor, leaves_at: Callable[[int], Sequence[bytes]]) -> int:
        """Append the leaves ``leaves_at(first index)``.

        The frontier (the perfect subtrees of the current size) is kept in memory between
        appends and re-read when another writer moved the size: nodes never change, so a
        frontier is valid for as long as the size and the last leaf are.
        """
        # One index lookup gives the size and the last leaf, which vouches for a cached frontier.
        last = db.execute(_LAST_LEAF, {"log": self.log}).first()
        first = 0 if last is None else int(last[0]) + 1
        last_hash = None if last is None else bytes(last[1])
        leaf_hashes = leaves_at(first)
        cached = self._frontier
        if cached is not None and cached[0] == first and cached[2] == last_hash:
            frontier = dict(cached[1])
        else:
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
                db.execute(_INSERT, rows)
                rows = []
        if rows:
            db.execute(_INSERT, rows)
        # Checked against the stored last leaf before reuse: a rolled-back append, or another
        # writer's appends of the same count, must not leave a stale frontier in use.
        self._frontier = (index, frontier, leaf_hashes[-1] if leaf_hashes else last_hash)
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

"""Transparency-log tables: tree nodes, log entries, signed checkpoints, witness state, evidence."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from gateway.store.models.base import Base
from gateway.store.types import UTCDateTime


class TlogNode(Base):
    """The hash of one perfect subtree ``(level, idx)`` of one log (RFC 9162 Merkle tree).

    Level 0 holds the leaf hashes. Rows are only ever inserted; the tree of a log with
    ``n`` leaves has at most ``2n`` of them. A clustered key on SQLite (WITHOUT ROWID)
    keeps each row stored once.
    """

    __tablename__ = "tlog_nodes"
    __table_args__ = ({"sqlite_with_rowid": False},)

    log: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    level: Mapped[int] = mapped_column(sa.SmallInteger(), primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(sa.BigInteger(), primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(sa.LargeBinary(32))


class TlogEntry(Base):
    """The data of one leaf of a log whose leaves are not rows of another table.

    The bureau's consortium key log, and each member's mirror of it, keep their leaves here;
    a node's audit log keeps them in ``audit_log``.
    """

    __tablename__ = "tlog_entries"

    log: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    idx: Mapped[int] = mapped_column(sa.BigInteger(), primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(sa.LargeBinary())


class TlogCheckpoint(Base):
    """A signed checkpoint this node holds: its own, one it relays (bureau) or one it witnessed.

    ``note`` is the C2SP signed note with every co-signature collected so far. ``old_size``
    and ``proof`` are the consistency proof the log published with it, from its previous
    checkpoint (empty for a log's first checkpoint).
    """

    __tablename__ = "tlog_checkpoints"
    __table_args__ = (sa.UniqueConstraint("origin", "size"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    origin: Mapped[str] = mapped_column(sa.String(200))
    size: Mapped[int] = mapped_column(sa.BigInteger())
    root: Mapped[bytes] = mapped_column(sa.LargeBinary(32))
    note: Mapped[str] = mapped_column(sa.Text())
    old_size: Mapped[int] = mapped_column(sa.BigInteger())
    proof: Mapped[str] = mapped_column(sa.Text())
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class TlogWitnessState(Base):
    """The largest checkpoint of one log this node verified and co-signed (C2SP tlog-witness)."""

    __tablename__ = "tlog_witness_state"

    origin: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    size: Mapped[int] = mapped_column(sa.BigInteger())
    root: Mapped[bytes] = mapped_column(sa.LargeBinary(32))
    note: Mapped[str] = mapped_column(sa.Text())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class TlogEvidence(Base):
    """Signed proof that a log misbehaved (split view, failed consistency), kept and reported."""

    __tablename__ = "tlog_evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    origin: Mapped[str] = mapped_column(sa.String(200), index=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    evidence: Mapped[str] = mapped_column(sa.Text())
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

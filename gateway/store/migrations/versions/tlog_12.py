"""Transparency logs: Merkle tree nodes, log entries, checkpoints, witness state, evidence.

Adds ``tlog_nodes`` (the hash of every perfect subtree of each log), ``tlog_entries`` (leaves
of the bureau's consortium key log and of members' mirrors of it), ``tlog_checkpoints``
(signed checkpoints with their co-signatures and consistency proofs), ``tlog_witness_state``
(the largest checkpoint of each log this node co-signed) and ``tlog_evidence`` (signed proof
of a log's misbehaviour), and gives every ``audit_log`` entry its ``leaf_index`` in the node's
transparency log. Existing audit entries become leaves 0, 1, … in ``seq`` order and their tree
is built here. The append-only triggers are dropped while the column is added (SQLite
rebuilds the table) and created again.

Revision ID: tlog_12
Revises: 0002
Create Date: 2026-11-30
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "tlog_12"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_REJECT_MESSAGE = "audit_log is append-only"


def upgrade() -> None:
    op.create_table(
        "tlog_nodes",
        sa.Column("log", sa.String(length=64), nullable=False),
        sa.Column("level", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("log", "level", "idx", name=op.f("pk_tlog_nodes")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "tlog_entries",
        sa.Column("log", sa.String(length=64), nullable=False),
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("log", "idx", name=op.f("pk_tlog_entries")),
    )
    op.create_table(
        "tlog_checkpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("origin", sa.String(length=200), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root", sa.LargeBinary(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("old_size", sa.BigInteger(), nullable=False),
        sa.Column("proof", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tlog_checkpoints")),
        sa.UniqueConstraint("origin", "size", name=op.f("uq_tlog_checkpoints_origin_size")),
    )
    op.create_table(
        "tlog_witness_state",
        sa.Column("origin", sa.String(length=200), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root", sa.LargeBinary(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("origin", name=op.f("pk_tlog_witness_state")),
    )
    op.create_table(
        "tlog_evidence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("origin", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tlog_evidence")),
    )
    op.create_index(op.f("ix_tlog_evidence_origin"), "tlog_evidence", ["origin"], unique=False)

    _drop_audit_triggers()
    with op.batch_alter_table("audit_log", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.add_column(sa.Column("leaf_index", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("leaf_hash", sa.LargeBinary(length=32), nullable=True))
    _index_existing_entries()
    with op.batch_alter_table("audit_log", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.alter_column("leaf_index", existing_type=sa.BigInteger(), nullable=False)
        batch.alter_column("leaf_hash", existing_type=sa.LargeBinary(length=32), nullable=False)
        batch.create_unique_constraint(op.f("uq_audit_log_leaf_index"), ["leaf_index"])
    _create_audit_triggers()


def downgrade() -> None:
    _drop_audit_triggers()
    with op.batch_alter_table("audit_log", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.drop_constraint(op.f("uq_audit_log_leaf_index"), type_="unique")
        batch.drop_column("leaf_hash")
        batch.drop_column("leaf_index")
    _create_audit_triggers()
    op.drop_index(op.f("ix_tlog_evidence_origin"), table_name="tlog_evidence")
    op.drop_table("tlog_evidence")
    op.drop_table("tlog_witness_state")
    op.drop_table("tlog_checkpoints")
    op.drop_table("tlog_entries")
    op.drop_table("tlog_nodes")


def _index_existing_entries() -> None:
    """Number existing entries in ``seq`` order and build their tree (empty on a new store)."""
    # Imported here: the leaf format and the tree are the runtime's own, used once.
    from gateway.store.repositories.audit import AUDIT_LOG, audit_leaf_data
    from gateway.store.types import UTCDateTime
    from gateway.tlog.merkle import leaf_hash
    from gateway.tlog.tree import SqlTree

    bind = op.get_bind()
    table = sa.table(
        "audit_log",
        *(sa.column(name) for name in ("seq", "leaf_index", "leaf_hash", "actor_member_id", "actor_role")),
        sa.column("recorded_at", UTCDateTime()),
        *(
            sa.column(name)
            for name in ("action", "resource", "decision", "reason", "correlation_id", "details")
        ),
    )
    rows = bind.execute(sa.select(table).order_by(table.c.seq)).mappings().all()
    hashes = []
    for index, row in enumerate(rows):
        fields = {
            "recorded_at": _iso_utc(row["recorded_at"]),
            "actor_member_id": row["actor_member_id"],
            "actor_role": row["actor_role"],
            "action": row["action"],
            "resource": row["resource"],
            "decision": str(row["decision"]),
            "reason": row["reason"],
            "correlation_id": row["correlation_id"],
            "details": json.loads(row["details"]),
        }
        value = leaf_hash(audit_leaf_data(index, fields))
        bind.execute(
            sa.update(table).where(table.c.seq == row["seq"]).values(leaf_index=index, leaf_hash=value)
        )
        hashes.append(value)
    if hashes:
        SqlTree(AUDIT_LOG).append(bind, hashes)


def _iso_utc(value: object) -> str:
    import datetime as dt

    assert isinstance(value, dt.datetime)
    aware = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
    return aware.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _create_audit_triggers() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_log_no_{event.lower()} BEFORE {event} ON audit_log "
                f"BEGIN SELECT RAISE(ABORT, '{_REJECT_MESSAGE}: {event} rejected'); END"
            )
        return
    op.execute(
        "CREATE FUNCTION audit_log_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN RAISE EXCEPTION '{_REJECT_MESSAGE}: % rejected', TG_OP "
        "USING ERRCODE = 'insufficient_privilege'; END $$"
    )
    op.execute(
        "CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log "
        "FOR EACH ROW EXECUTE FUNCTION audit_log_reject_change()"
    )
    # TRUNCATE fires no row triggers, so it needs its own statement-level one.
    op.execute(
        "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_reject_change()"
    )


def _drop_audit_triggers() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
        return
    op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
    op.execute("DROP TRIGGER IF EXISTS audit_log_no_update_delete ON audit_log")
    op.execute("DROP FUNCTION IF EXISTS audit_log_reject_change()")

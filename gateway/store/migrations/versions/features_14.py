"""A member's own model columns: ``model_rows``, and ``features`` as an import kind.

Adds ``model_rows`` (one row per loan of the member's model book: its reference, the
feature spec's name and the validated cells as JSON) and lets ``import_batches`` and
``import_quarantine`` record imports of kind ``features`` (issue #14).

Revision ID: features_14
Revises: contact_16
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "features_14"
down_revision: str | None = "contact_16"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD_KINDS = ("borrowers", "accounts", "applications", "contacts", "blacklist", "consents")
_NEW_KINDS = (*_OLD_KINDS, "features")


def _kind(values: tuple[str, ...]) -> sa.Enum:
    return sa.Enum(*values, name="kind", native_enum=False, create_constraint=True, length=12)


def _retype(values_from: tuple[str, ...], values_to: tuple[str, ...]) -> None:
    for table in ("import_batches", "import_quarantine"):
        if op.get_bind().dialect.name == "sqlite":
            # SQLite cannot alter a CHECK constraint: the table is copied with the new one.
            with op.batch_alter_table(table, recreate="always") as batch:
                batch.alter_column(
                    "kind", existing_type=_kind(values_from), type_=_kind(values_to), existing_nullable=False
                )
            continue
        # PostgreSQL: replace the constraint in place (recreating the table would drop the
        # primary key that import_quarantine's foreign key depends on).
        name = op.f(f"ck_{table}_kind")
        op.drop_constraint(name, table, type_="check")
        op.create_check_constraint(name, table, sa.column("kind").in_(values_to))


def upgrade() -> None:
    op.create_table(
        "model_rows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("row_ref", sa.String(length=64), nullable=False),
        sa.Column("spec_name", sa.String(length=100), nullable=False),
        sa.Column("cells", sa.Text(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_rows")),
        sa.UniqueConstraint("row_ref", name=op.f("uq_model_rows_row_ref")),
    )
    op.create_index(op.f("ix_model_rows_spec_name"), "model_rows", ["spec_name"], unique=False)
    _retype(_OLD_KINDS, _NEW_KINDS)


def downgrade() -> None:
    op.execute("DELETE FROM import_quarantine WHERE kind = 'features'")
    op.execute("DELETE FROM import_batches WHERE kind = 'features'")
    _retype(_NEW_KINDS, _OLD_KINDS)
    op.drop_index(op.f("ix_model_rows_spec_name"), table_name="model_rows")
    op.drop_table("model_rows")

"""Subject tokens, subject-check state and member key bundles.

Adds ``subject_tokens`` (a member's OPRF tokens of its own borrowers, looked up
when a sealed token arrives in a subject check), ``check_rounds`` (the querier's
mask seeds) and ``check_cache`` (the bureau's masked answers for repeated
checks), and, on ``members``, the certificate and signed key bundle the bureau
relays to peers plus the member's blacklist contribution count. The key-bundle
columns are nullable: a registration made before this revision has none until
the member registers again.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "check_cache",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("querier_member_id", sa.String(length=64), nullable=False),
        sa.Column(
            "reason",
            sa.Enum(
                "post_loan_management",
                "loan_approval",
                "credit_card_approval",
                "guarantee_qualification_review",
                "pre_guarantee_review",
                "post_guarantee_management",
                "customer_admission_review",
                "financing_approval",
                "credit_review",
                "credit_line_approval",
                "collection_case_check",
                name="reason",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("local_day", sa.Date(), nullable=False),
        sa.Column("dedup_tag", sa.LargeBinary(length=32), nullable=False),
        sa.Column("masked_row", sa.LargeBinary(), nullable=False),
        sa.Column("row_index", sa.Integer(), nullable=False),
        sa.Column("round_rows", sa.Integer(), nullable=False),
        sa.Column("request_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("members_asked", sa.Integer(), nullable=False),
        sa.Column("members_answered", sa.Integer(), nullable=False),
        sa.Column("participants", sa.Integer(), nullable=False),
        sa.Column("segment_map", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_check_cache")),
        sa.UniqueConstraint(
            "querier_member_id",
            "reason",
            "local_day",
            "dedup_tag",
            name=op.f("uq_check_cache_querier_member_id_reason_local_day_dedup_tag"),
        ),
    )
    op.create_table(
        "check_rounds",
        sa.Column("request_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("query_seed", sa.LargeBinary(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("request_hash", name=op.f("pk_check_rounds")),
    )
    op.create_table(
        "subject_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("borrower_id", sa.Integer(), nullable=False),
        sa.Column(
            "token_kind",
            sa.Enum("resident_id", "mobile", name="token_kind", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("key_epoch", sa.Integer(), nullable=False),
        sa.Column("token", sa.LargeBinary(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["borrower_id"], ["borrowers.id"], name=op.f("fk_subject_tokens_borrower_id_borrowers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subject_tokens")),
        sa.UniqueConstraint(
            "borrower_id",
            "token_kind",
            "key_epoch",
            name=op.f("uq_subject_tokens_borrower_id_token_kind_key_epoch"),
        ),
    )
    with op.batch_alter_table("subject_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_subject_tokens_borrower_id"), ["borrower_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_subject_tokens_token"), ["token"], unique=False)

    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("certificate_der", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("hpke_public_key", sa.LargeBinary(length=32), nullable=True))
        batch_op.add_column(sa.Column("mask_public_key", sa.LargeBinary(length=32), nullable=True))
        batch_op.add_column(sa.Column("keys_created_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("keys_signature", sa.LargeBinary(), nullable=True))
        batch_op.add_column(
            sa.Column("blacklist_listings", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_column("blacklist_listings")
        batch_op.drop_column("keys_signature")
        batch_op.drop_column("keys_created_at")
        batch_op.drop_column("mask_public_key")
        batch_op.drop_column("hpke_public_key")
        batch_op.drop_column("certificate_der")

    with op.batch_alter_table("subject_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_subject_tokens_token"))
        batch_op.drop_index(batch_op.f("ix_subject_tokens_borrower_id"))

    op.drop_table("subject_tokens")
    op.drop_table("check_rounds")
    op.drop_table("check_cache")

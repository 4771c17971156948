"""Subject-check hardening (issue #11): pinned peers, responder state, keyed cache, OPRF caps.

Adds ``peer_pins`` and ``peer_pin_candidates`` (a member's pinned peer certificates and
keys), ``responder_rounds`` (a responder's durable per-request state), ``access_statements``
(relayers' subject-access statements a responder accepted), ``check_round_info`` (who
answered a cached round and their signed digests, at the bureau) and ``oprf_usage`` (the
bureau's persisted OPRF caps). ``check_cache`` loses ``reason``: a repeated check is
answered from the cache per querier, subject and day whatever the reason. Cached rows are
per-day ephemera, so the table is emptied rather than converted.

Revision ID: subject_check_11
Revises: tlog_12
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "subject_check_11"
down_revision: str | None = "tlog_12"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "access_statements",
        sa.Column("statement_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("relayer_member_id", sa.String(length=64), nullable=False),
        sa.Column("local_day", sa.Date(), nullable=False),
        sa.Column("lookup_tag", sa.LargeBinary(length=32), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("statement_hash", name=op.f("pk_access_statements")),
    )
    with op.batch_alter_table("access_statements", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_access_statements_relayer_member_id"), ["relayer_member_id"], unique=False
        )

    op.create_table(
        "check_round_info",
        sa.Column("request_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("local_day", sa.Date(), nullable=False),
        sa.Column("participants", sa.Text(), nullable=False),
        sa.Column("proofs", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("request_hash", name=op.f("pk_check_round_info")),
    )
    with op.batch_alter_table("check_round_info", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_check_round_info_local_day"), ["local_day"], unique=False)

    op.create_table(
        "oprf_usage",
        sa.Column("member_id", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("used", sa.BigInteger(), nullable=False),
        sa.Column("alerted", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.PrimaryKeyConstraint("member_id", "period", name=op.f("pk_oprf_usage")),
    )
    op.create_table(
        "peer_pin_candidates",
        sa.Column("member_id", sa.String(length=64), nullable=False),
        sa.Column("cert_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("certificate_der", sa.LargeBinary(), nullable=False),
        sa.Column("hpke_public_key", sa.LargeBinary(length=32), nullable=False),
        sa.Column("mask_public_key", sa.LargeBinary(length=32), nullable=False),
        sa.Column("keys_created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("keys_signature", sa.LargeBinary(), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_peer_pin_candidates")),
    )
    op.create_table(
        "peer_pins",
        sa.Column("member_id", sa.String(length=64), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "bank",
                "consumer_finance",
                "micro_lender",
                "agency",
                "bureau",
                "regulator",
                name="role",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("cert_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("certificate_der", sa.LargeBinary(), nullable=False),
        sa.Column("hpke_public_key", sa.LargeBinary(length=32), nullable=False),
        sa.Column("mask_public_key", sa.LargeBinary(length=32), nullable=False),
        sa.Column("keys_created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("keys_signature", sa.LargeBinary(), nullable=False),
        sa.Column("pinned_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_peer_pins")),
    )
    op.create_table(
        "responder_rounds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("answering_set_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("participants", sa.Text(), nullable=False),
        sa.Column(
            "state",
            sa.Enum("answered", "finalized", name="round_state", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_responder_rounds")),
        sa.UniqueConstraint("request_hash", "attempt", name=op.f("uq_responder_rounds_request_hash_attempt")),
    )
    with op.batch_alter_table("responder_rounds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_responder_rounds_answered_at"), ["answered_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_responder_rounds_request_hash"), ["request_hash"], unique=False)

    # The cache holds one day's masked rows: recreate it rather than convert it.
    op.drop_table("check_cache")
    op.create_table(
        "check_cache",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("querier_member_id", sa.String(length=64), nullable=False),
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
            "local_day",
            "dedup_tag",
            name=op.f("uq_check_cache_querier_member_id_local_day_dedup_tag"),
        ),
    )


def downgrade() -> None:
    op.drop_table("check_cache")
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

    with op.batch_alter_table("responder_rounds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_responder_rounds_request_hash"))
        batch_op.drop_index(batch_op.f("ix_responder_rounds_answered_at"))

    op.drop_table("responder_rounds")
    op.drop_table("peer_pins")
    op.drop_table("peer_pin_candidates")
    op.drop_table("oprf_usage")
    with op.batch_alter_table("check_round_info", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_check_round_info_local_day"))

    op.drop_table("check_round_info")
    with op.batch_alter_table("access_statements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_access_statements_relayer_member_id"))

    op.drop_table("access_statements")

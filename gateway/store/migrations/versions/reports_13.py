"""Regulator reports hardened (issue #13): a member's report requests, attempts and charges.

Adds ``report_requests`` (each request a member answered, keyed by the hash of the
regulator's signed order, with the regulator its certificate names), ``report_attempts``
(every attempt it answered: phase, number, answering set, the masked share it sent, and
whether it revealed the attempt's self-mask) and ``report_charges`` (its privacy ledger, one
row per answered attempt, refunded only when the attempt can never be opened). The earlier
JSON-lines ledger (``<data dir>/reports/privacy-ledger.jsonl``) charged once per request
whatever the attempt and is no longer read; its entries are not carried over.

Revision ID: reports_13
Revises: features_14
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "reports_13"
down_revision: str | None = "features_14"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "report_requests",
        sa.Column("request_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("regulator_id", sa.String(length=64), nullable=False),
        sa.Column("regulator_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("template_id", sa.String(length=64), nullable=False),
        sa.Column("template_version", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("nonce", sa.LargeBinary(length=16), nullable=False),
        sa.Column("closed", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("request_hash"),
    )
    op.create_index("ix_report_requests_regulator_id", "report_requests", ["regulator_id"])
    op.create_index("ix_report_requests_period", "report_requests", ["period"])
    op.create_table(
        "report_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("phase", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("participants", sa.Text(), nullable=False),
        sa.Column("answering_set_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("context_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("share", sa.LargeBinary(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "answered",
                "opened",
                "closed",
                name="state",
                native_enum=False,
                create_constraint=True,
                length=8,
            ),
            nullable=False,
        ),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["request_hash"], ["report_requests.request_hash"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_hash", "phase", "attempt"),
    )
    op.create_index("ix_report_attempts_request_hash", "report_attempts", ["request_hash"])
    op.create_table(
        "report_charges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("phase", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("regulator_id", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("template_id", sa.String(length=64), nullable=False),
        sa.Column("template_version", sa.Integer(), nullable=False),
        sa.Column("rho", sa.Float(), nullable=False),
        sa.Column("charged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("refunded_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_report_charges_request_hash", "report_charges", ["request_hash"])
    op.create_index("ix_report_charges_regulator_id", "report_charges", ["regulator_id"])
    op.create_index("ix_report_charges_period", "report_charges", ["period"])


def downgrade() -> None:
    op.drop_index("ix_report_charges_period", table_name="report_charges")
    op.drop_index("ix_report_charges_regulator_id", table_name="report_charges")
    op.drop_index("ix_report_charges_request_hash", table_name="report_charges")
    op.drop_table("report_charges")
    op.drop_index("ix_report_attempts_request_hash", table_name="report_attempts")
    op.drop_table("report_attempts")
    op.drop_index("ix_report_requests_period", table_name="report_requests")
    op.drop_index("ix_report_requests_regulator_id", table_name="report_requests")
    op.drop_table("report_requests")

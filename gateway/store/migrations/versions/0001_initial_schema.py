"""Initial schema of the local store.

Creates every table of the node's store (borrowers with PII, accounts,
repayment history, applications, inquiries, contact attempts, blacklist
entries, consents, import bookkeeping, the member directory and the audit log)
and the database triggers that make ``audit_log`` append-only: UPDATE and
DELETE (and on PostgreSQL TRUNCATE) are rejected by the database itself, so
not even code bypassing the ORM can rewrite history. Downgrade drops the
triggers, then the tables.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_member_id", sa.String(length=64), nullable=False),
        sa.Column("actor_role", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=100), nullable=False),
        sa.Column("resource", sa.String(length=200), nullable=False),
        sa.Column(
            "decision",
            sa.Enum("allow", "deny", "error", name="decision", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("correlation_id", sa.String(length=64), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_log")),
        sa.UniqueConstraint("entry_hash", name=op.f("uq_audit_log_entry_hash")),
        sa.UniqueConstraint("prev_hash", name=op.f("uq_audit_log_prev_hash")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_audit_log_correlation_id"), "audit_log", ["correlation_id"], unique=False)
    op.create_table(
        "borrowers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("borrower_ref", sa.String(length=64), nullable=False),
        sa.Column("resident_id", sa.String(length=18), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("mobile", sa.String(length=11), nullable=False),
        sa.Column("address", sa.String(length=400), nullable=False),
        sa.Column("province", sa.String(length=40), nullable=False),
        sa.Column(
            "gender",
            sa.Enum("male", "female", name="gender", native_enum=False, create_constraint=True),
            nullable=True,
        ),
        sa.Column(
            "education",
            sa.Enum(
                "graduate",
                "university",
                "high_school",
                "other",
                "unknown",
                name="education",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=True,
        ),
        sa.Column(
            "marital_status",
            sa.Enum(
                "married",
                "single",
                "other",
                "unknown",
                name="marital_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=True,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_borrowers")),
        sa.UniqueConstraint("borrower_ref", name=op.f("uq_borrowers_borrower_ref")),
    )
    op.create_index(op.f("ix_borrowers_resident_id"), "borrowers", ["resident_id"], unique=False)
    op.create_table(
        "import_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "borrowers",
                "accounts",
                "applications",
                "contacts",
                "blacklist",
                "consents",
                name="kind",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("source_file", sa.String(length=1000), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rows_read", sa.Integer(), nullable=False),
        sa.Column("rows_imported", sa.Integer(), nullable=False),
        sa.Column("rows_quarantined", sa.Integer(), nullable=False),
        sa.Column("rows_duplicate", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "rows_read = rows_imported + rows_quarantined + rows_duplicate",
            name=op.f("ck_import_batches_rows_add_up"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_batches")),
    )
    op.create_index(op.f("ix_import_batches_file_sha256"), "import_batches", ["file_sha256"], unique=False)
    op.create_table(
        "inquiries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("query_id", sa.String(length=64), nullable=False),
        sa.Column("subject_token", sa.LargeBinary(), nullable=False),
        sa.Column("token_key_epoch", sa.Integer(), nullable=False),
        sa.Column(
            "reason_code",
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
                name="reason_code",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("consent_ref", sa.String(length=64), nullable=False),
        sa.Column("queried_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inquiries")),
        sa.UniqueConstraint("query_id", name=op.f("uq_inquiries_query_id")),
    )
    op.create_index(op.f("ix_inquiries_subject_token"), "inquiries", ["subject_token"], unique=False)
    op.create_table(
        "members",
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
        sa.Column("address", sa.String(length=255), nullable=False),
        sa.Column("cert_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("cert_serial", sa.String(length=64), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("software_version", sa.String(length=64), nullable=False),
        sa.Column("protocol_version", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_members")),
    )
    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_ref", sa.String(length=64), nullable=False),
        sa.Column("borrower_id", sa.Integer(), nullable=False),
        sa.Column(
            "segment",
            sa.Enum(
                "bank",
                "consumer_finance",
                "micro_loan",
                "credit_card",
                "other",
                name="segment",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("product", sa.String(length=100), nullable=False),
        sa.Column("credit_limit", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("principal", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("outstanding", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("days_past_due", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "active",
                "closed",
                "charged_off",
                "written_off",
                name="status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("defaulted", sa.Boolean(create_constraint=True, name="defaulted"), nullable=False),
        sa.Column("entrusted_by", sa.String(length=64), nullable=True),
        sa.Column("entrustment_expires_on", sa.Date(), nullable=True),
        sa.CheckConstraint("credit_limit >= 0", name=op.f("ck_accounts_credit_limit_non_negative")),
        sa.CheckConstraint("days_past_due >= 0", name=op.f("ck_accounts_days_past_due_non_negative")),
        sa.CheckConstraint("outstanding >= 0", name=op.f("ck_accounts_outstanding_non_negative")),
        sa.CheckConstraint("principal >= 0", name=op.f("ck_accounts_principal_non_negative")),
        sa.ForeignKeyConstraint(
            ["borrower_id"], ["borrowers.id"], name=op.f("fk_accounts_borrower_id_borrowers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint("account_ref", name=op.f("uq_accounts_account_ref")),
    )
    op.create_index(op.f("ix_accounts_borrower_id"), "accounts", ["borrower_id"], unique=False)
    op.create_table(
        "applications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_ref", sa.String(length=64), nullable=False),
        sa.Column("borrower_id", sa.Integer(), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "segment",
            sa.Enum(
                "bank",
                "consumer_finance",
                "micro_loan",
                "credit_card",
                "other",
                name="segment",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("amount_requested", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column(
            "decision",
            sa.Enum(
                "approved", "declined", "pending", name="decision", native_enum=False, create_constraint=True
            ),
            nullable=False,
        ),
        sa.CheckConstraint(
            "amount_requested >= 0", name=op.f("ck_applications_amount_requested_non_negative")
        ),
        sa.ForeignKeyConstraint(
            ["borrower_id"], ["borrowers.id"], name=op.f("fk_applications_borrower_id_borrowers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_applications")),
        sa.UniqueConstraint("application_ref", name=op.f("uq_applications_application_ref")),
    )
    op.create_index(op.f("ix_applications_borrower_id"), "applications", ["borrower_id"], unique=False)
    op.create_table(
        "blacklist_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_ref", sa.String(length=64), nullable=False),
        sa.Column("borrower_id", sa.Integer(), nullable=False),
        sa.Column(
            "reason",
            sa.Enum(
                "fraud",
                "identity_theft",
                "malicious_evasion",
                "court_dishonest_debtor",
                name="reason",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("evidence_ref", sa.String(length=200), nullable=False),
        sa.Column("listed_on", sa.Date(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column(
            "appeal_state",
            sa.Enum(
                "none",
                "pending",
                "upheld",
                "rejected",
                name="appeal_state",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.CheckConstraint("expires_on > listed_on", name=op.f("ck_blacklist_entries_expires_after_listed")),
        sa.ForeignKeyConstraint(
            ["borrower_id"], ["borrowers.id"], name=op.f("fk_blacklist_entries_borrower_id_borrowers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blacklist_entries")),
        sa.UniqueConstraint("entry_ref", name=op.f("uq_blacklist_entries_entry_ref")),
    )
    op.create_index(
        op.f("ix_blacklist_entries_borrower_id"), "blacklist_entries", ["borrower_id"], unique=False
    )
    op.create_table(
        "consents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("consent_ref", sa.String(length=64), nullable=False),
        sa.Column("borrower_id", sa.Integer(), nullable=False),
        sa.Column(
            "purpose",
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
                name="purpose",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("counterparty_scope", sa.String(length=64), nullable=False),
        sa.Column("granted_on", sa.Date(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("revoked_on", sa.Date(), nullable=True),
        sa.CheckConstraint("expires_on >= granted_on", name=op.f("ck_consents_expires_after_granted")),
        sa.ForeignKeyConstraint(
            ["borrower_id"], ["borrowers.id"], name=op.f("fk_consents_borrower_id_borrowers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consents")),
        sa.UniqueConstraint("consent_ref", name=op.f("uq_consents_consent_ref")),
    )
    op.create_index(op.f("ix_consents_borrower_id"), "consents", ["borrower_id"], unique=False)
    op.create_table(
        "import_quarantine",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "borrowers",
                "accounts",
                "applications",
                "contacts",
                "blacklist",
                "consents",
                name="kind",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("source_file", sa.String(length=1000), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("raw_row", sa.Text(), nullable=False),
        sa.Column("quarantined_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["import_batches.id"], name=op.f("fk_import_quarantine_batch_id_import_batches")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_quarantine")),
        sa.UniqueConstraint(
            "file_sha256", "kind", "row_number", name=op.f("uq_import_quarantine_file_sha256_kind_row_number")
        ),
    )
    op.create_index(op.f("ix_import_quarantine_batch_id"), "import_quarantine", ["batch_id"], unique=False)
    op.create_table(
        "contact_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_ref", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "channel",
            sa.Enum(
                "phone",
                "sms",
                "ai_voice",
                "visit",
                "letter",
                "app_message",
                name="channel",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("contact_number", sa.String(length=11), nullable=True),
        sa.Column("connected", sa.Boolean(create_constraint=True, name="connected"), nullable=False),
        sa.Column("agency_member_id", sa.String(length=64), nullable=True),
        sa.Column("outcome", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_contact_attempts_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_attempts")),
        sa.UniqueConstraint("contact_ref", name=op.f("uq_contact_attempts_contact_ref")),
    )
    op.create_index(
        op.f("ix_contact_attempts_account_id_attempted_at"),
        "contact_attempts",
        ["account_id", "attempted_at"],
        unique=False,
    )
    op.create_table(
        "repayment_history",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("months_ago", sa.Integer(), nullable=False),
        sa.Column("repayment_status", sa.Integer(), nullable=False),
        sa.Column("statement_balance", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("amount_paid", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.CheckConstraint("amount_paid >= 0", name=op.f("ck_repayment_history_amount_paid_non_negative")),
        sa.CheckConstraint("months_ago >= 1", name=op.f("ck_repayment_history_months_ago_positive")),
        sa.CheckConstraint(
            "repayment_status BETWEEN -2 AND 9", name=op.f("ck_repayment_history_repayment_status_range")
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_repayment_history_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("account_id", "months_ago", name=op.f("pk_repayment_history")),
    )

    _create_audit_triggers()


def downgrade() -> None:
    _drop_audit_triggers()
    op.drop_table("repayment_history")
    op.drop_index(op.f("ix_contact_attempts_account_id_attempted_at"), table_name="contact_attempts")
    op.drop_table("contact_attempts")
    op.drop_index(op.f("ix_import_quarantine_batch_id"), table_name="import_quarantine")
    op.drop_table("import_quarantine")
    op.drop_index(op.f("ix_consents_borrower_id"), table_name="consents")
    op.drop_table("consents")
    op.drop_index(op.f("ix_blacklist_entries_borrower_id"), table_name="blacklist_entries")
    op.drop_table("blacklist_entries")
    op.drop_index(op.f("ix_applications_borrower_id"), table_name="applications")
    op.drop_table("applications")
    op.drop_index(op.f("ix_accounts_borrower_id"), table_name="accounts")
    op.drop_table("accounts")
    op.drop_table("members")
    op.drop_index(op.f("ix_inquiries_subject_token"), table_name="inquiries")
    op.drop_table("inquiries")
    op.drop_index(op.f("ix_import_batches_file_sha256"), table_name="import_batches")
    op.drop_table("import_batches")
    op.drop_index(op.f("ix_borrowers_resident_id"), table_name="borrowers")
    op.drop_table("borrowers")
    op.drop_index(op.f("ix_audit_log_correlation_id"), table_name="audit_log")
    op.drop_table("audit_log")


_REJECT_MESSAGE = "audit_log is append-only"


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

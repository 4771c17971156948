"""Collection conduct: contact clearance, complaints and conduct screening (issue #16).

At the bureau: ``contact_reservations`` (granted slots, counted for the daily caps),
``contact_requests`` (answers replayed per idempotency key), ``contact_flag_tags`` and
``contact_flag_batches`` (members' standing flags for a day, as keyed tags),
and ``contact_day_epochs`` (the members'-secret epoch a day's counters use). Every table is
keyed by its local day and purged after the policy's retention.

At a member: ``contact_flags`` (flags it set, with provenance and expiry),
``contact_entrustments`` (a lender's entrusted accounts), ``contact_grants`` (an agency's
signed grants), ``contact_clearances`` (its own clearance log), ``complaints`` and
``complaint_events`` (the complaint loop), ``conduct_screenings`` and ``conduct_flags``
(conduct screening results, which never leave the node).

Revision ID: contact_16
Revises: subject_check_11
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "contact_16"
down_revision: str | None = "subject_check_11"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "contact_day_epochs",
        sa.Column("local_day", sa.Date(), nullable=False),
        sa.Column("tag_key_epoch", sa.Integer(), nullable=False),
        sa.Column("pinned_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("local_day", name=op.f("pk_contact_day_epochs")),
    )
    op.create_table(
        "contact_flag_batches",
        sa.Column("local_day", sa.Date(), nullable=False),
        sa.Column("publisher_member_id", sa.String(length=64), nullable=False),
        sa.Column("tag_key_epoch", sa.Integer(), nullable=False),
        sa.Column("flags", sa.Integer(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("local_day", "publisher_member_id", name=op.f("pk_contact_flag_batches")),
    )
    op.create_table(
        "contact_flag_tags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("local_day", sa.Date(), nullable=False),
        sa.Column("publisher_member_id", sa.String(length=64), nullable=False),
        sa.Column("tag", sa.LargeBinary(length=32), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "dispute",
                "do_not_contact",
                "deceased",
                "third_party_refused",
                "entrustment_ended",
                name="kind",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("scope_lender", sa.String(length=64), nullable=False),
        sa.Column("agency_member_id", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_flag_tags")),
    )
    with op.batch_alter_table("contact_flag_tags", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_contact_flag_tags_local_day_tag"), ["local_day", "tag"], unique=False
        )

    op.create_table(
        "contact_grants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("local_day", sa.Integer(), nullable=False),
        sa.Column("debtor_tag", sa.LargeBinary(length=32), nullable=False),
        sa.Column("lender_member_id", sa.String(length=64), nullable=False),
        sa.Column("agency_member_id", sa.String(length=64), nullable=False),
        sa.Column("tag_key_epoch", sa.Integer(), nullable=False),
        sa.Column("channels", sa.String(length=100), nullable=False),
        sa.Column(
            "third_party_allowed",
            sa.Boolean(create_constraint=True, name="third_party_allowed"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("lender_certificate", sa.LargeBinary(), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_grants")),
        sa.UniqueConstraint(
            "local_day",
            "debtor_tag",
            "lender_member_id",
            name=op.f("uq_contact_grants_local_day_debtor_tag_lender_member_id"),
        ),
    )
    op.create_table(
        "contact_requests",
        sa.Column("requester_member_id", sa.String(length=64), nullable=False),
        sa.Column("idempotency_key", sa.LargeBinary(length=16), nullable=False),
        sa.Column("local_day", sa.Date(), nullable=False),
        sa.Column("request_digest", sa.LargeBinary(length=32), nullable=False),
        sa.Column(
            "decision",
            sa.Enum(
                "granted",
                "quiet_hours",
                "connected_cap",
                "unanswered_cap",
                "dispute_or_do_not_contact",
                "deceased",
                "not_entrusted",
                "third_party",
                "visit_collectors",
                "tag_epoch",
                "flags_unavailable",
                name="decision",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("reservation_id", sa.LargeBinary(length=16), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("retry_after", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tag_key_epoch", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("requester_member_id", "idempotency_key", name=op.f("pk_contact_requests")),
    )
    with op.batch_alter_table("contact_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contact_requests_local_day"), ["local_day"], unique=False)

    op.create_table(
        "contact_reservations",
        sa.Column("reservation_id", sa.LargeBinary(length=16), nullable=False),
        sa.Column("local_day", sa.Date(), nullable=False),
        sa.Column("requester_member_id", sa.String(length=64), nullable=False),
        sa.Column("scope_lender", sa.String(length=64), nullable=False),
        sa.Column("debtor_tag", sa.LargeBinary(length=32), nullable=False),
        sa.Column("number_tag", sa.LargeBinary(length=32), nullable=True),
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
        sa.Column(
            "party",
            sa.Enum("debtor", "third_party", name="party", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("counts_call", sa.Boolean(create_constraint=True, name="counts_call"), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "open",
                "connected",
                "unanswered",
                "released",
                name="state",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("late", sa.Boolean(create_constraint=True, name="late"), nullable=False),
        sa.PrimaryKeyConstraint("reservation_id", name=op.f("pk_contact_reservations")),
    )
    with op.batch_alter_table("contact_reservations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_contact_reservations_local_day_scope_lender_debtor_tag"),
            ["local_day", "scope_lender", "debtor_tag"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_contact_reservations_local_day_scope_lender_number_tag"),
            ["local_day", "scope_lender", "number_tag"],
            unique=False,
        )

    op.create_table(
        "contact_flags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("flag_ref", sa.String(length=64), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "dispute",
                "do_not_contact",
                "deceased",
                "third_party_refused",
                "entrustment_ended",
                name="kind",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("borrower_id", sa.Integer(), nullable=True),
        sa.Column("contact_number", sa.String(length=11), nullable=True),
        sa.Column("scope_lender", sa.String(length=64), nullable=True),
        sa.Column("agency_member_id", sa.String(length=64), nullable=True),
        sa.Column("set_by_member_id", sa.String(length=64), nullable=False),
        sa.Column("provenance", sa.String(length=200), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("lifted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["borrower_id"], ["borrowers.id"], name=op.f("fk_contact_flags_borrower_id_borrowers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_flags")),
        sa.UniqueConstraint("flag_ref", name=op.f("uq_contact_flags_flag_ref")),
    )
    with op.batch_alter_table("contact_flags", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contact_flags_borrower_id"), ["borrower_id"], unique=False)

    op.create_table(
        "complaints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_ref", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "channel",
            sa.Enum(
                "phone",
                "app",
                "branch",
                "letter",
                "email",
                "regulator_referral",
                name="channel",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "category",
            sa.Enum(
                "attitude_or_excessive",
                "information_leak",
                "harassing_contacts",
                "compliance_dispute",
                "other",
                name="category",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "grade",
            sa.Enum("minor", "moderate", "serious", name="grade", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("lender_member_id", sa.String(length=64), nullable=True),
        sa.Column("agency_member_id", sa.String(length=64), nullable=True),
        sa.Column("linked_ref", sa.String(length=64), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "open",
                "responded",
                "planned",
                "closed",
                name="state",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("first_response_due", sa.DateTime(timezone=True), nullable=False),
        sa.Column("plan_due", sa.DateTime(timezone=True), nullable=False),
        sa.Column("responded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("planned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "outcome",
            sa.Enum(
                "upheld",
                "partly_upheld",
                "not_upheld",
                "withdrawn",
                name="outcome",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=True,
        ),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("escalated_to", sa.String(length=64), nullable=True),
        sa.Column("counted_here", sa.Boolean(create_constraint=True, name="counted_here"), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_complaints_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaints")),
        sa.UniqueConstraint("complaint_ref", name=op.f("uq_complaints_complaint_ref")),
    )
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_complaints_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_complaints_received_at"), ["received_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_complaints_state_first_response_due"),
            ["state", "first_response_due"],
            unique=False,
        )

    op.create_table(
        "conduct_screenings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_ref", sa.String(length=64), nullable=False),
        sa.Column(
            "source_kind",
            sa.Enum("transcript", "note", name="source_kind", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("screened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("utterances", sa.Integer(), nullable=False),
        sa.Column("flagged", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_conduct_screenings_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conduct_screenings")),
        sa.UniqueConstraint(
            "source_ref", "source_kind", name=op.f("uq_conduct_screenings_source_ref_source_kind")
        ),
    )
    with op.batch_alter_table("conduct_screenings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_conduct_screenings_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_conduct_screenings_screened_at"), ["screened_at"], unique=False)

    op.create_table(
        "contact_clearances",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.LargeBinary(length=16), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("local_day", sa.Date(), nullable=False),
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
        sa.Column(
            "party",
            sa.Enum("debtor", "third_party", name="party", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column(
            "decision",
            sa.Enum(
                "granted",
                "quiet_hours",
                "connected_cap",
                "unanswered_cap",
                "dispute_or_do_not_contact",
                "deceased",
                "not_entrusted",
                "third_party",
                "visit_collectors",
                "tag_epoch",
                "flags_unavailable",
                name="decision",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("reservation_id", sa.LargeBinary(length=16), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "outcome",
            sa.Enum(
                "open",
                "connected",
                "unanswered",
                "released",
                name="outcome",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=True,
        ),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_contact_clearances_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_clearances")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_contact_clearances_idempotency_key")),
        sa.UniqueConstraint("reservation_id", name=op.f("uq_contact_clearances_reservation_id")),
    )
    with op.batch_alter_table("contact_clearances", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_contact_clearances_account_id_requested_at"),
            ["account_id", "requested_at"],
            unique=False,
        )

    op.create_table(
        "contact_entrustments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("agency_member_id", sa.String(length=64), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("channels", sa.String(length=100), nullable=False),
        sa.Column(
            "third_party_allowed",
            sa.Boolean(create_constraint=True, name="third_party_allowed"),
            nullable=False,
        ),
        sa.Column("ended_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_contact_entrustments_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_entrustments")),
        sa.UniqueConstraint(
            "account_id", "agency_member_id", name=op.f("uq_contact_entrustments_account_id_agency_member_id")
        ),
    )
    with op.batch_alter_table("contact_entrustments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contact_entrustments_account_id"), ["account_id"], unique=False)

    op.create_table(
        "complaint_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["complaint_id"], ["complaints.id"], name=op.f("fk_complaint_events_complaint_id_complaints")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint_events")),
    )
    with op.batch_alter_table("complaint_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_complaint_events_complaint_id"), ["complaint_id"], unique=False)

    op.create_table(
        "conduct_flags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("screening_id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=40), nullable=False),
        sa.Column("utterance_index", sa.Integer(), nullable=False),
        sa.Column("span_start", sa.Integer(), nullable=False),
        sa.Column("span_end", sa.Integer(), nullable=False),
        sa.Column("excerpt", sa.String(length=400), nullable=False),
        sa.ForeignKeyConstraint(
            ["screening_id"],
            ["conduct_screenings.id"],
            name=op.f("fk_conduct_flags_screening_id_conduct_screenings"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conduct_flags")),
    )
    with op.batch_alter_table("conduct_flags", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_conduct_flags_screening_id"), ["screening_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("conduct_flags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conduct_flags_screening_id"))

    op.drop_table("conduct_flags")
    with op.batch_alter_table("complaint_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_complaint_events_complaint_id"))

    op.drop_table("complaint_events")
    with op.batch_alter_table("contact_entrustments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_entrustments_account_id"))

    op.drop_table("contact_entrustments")
    with op.batch_alter_table("contact_clearances", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_clearances_account_id_requested_at"))

    op.drop_table("contact_clearances")
    with op.batch_alter_table("conduct_screenings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conduct_screenings_screened_at"))
        batch_op.drop_index(batch_op.f("ix_conduct_screenings_account_id"))

    op.drop_table("conduct_screenings")
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_complaints_state_first_response_due"))
        batch_op.drop_index(batch_op.f("ix_complaints_received_at"))
        batch_op.drop_index(batch_op.f("ix_complaints_account_id"))

    op.drop_table("complaints")
    with op.batch_alter_table("contact_flags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_flags_borrower_id"))

    op.drop_table("contact_flags")
    with op.batch_alter_table("contact_reservations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_reservations_local_day_scope_lender_number_tag"))
        batch_op.drop_index(batch_op.f("ix_contact_reservations_local_day_scope_lender_debtor_tag"))

    op.drop_table("contact_reservations")
    with op.batch_alter_table("contact_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_requests_local_day"))

    op.drop_table("contact_requests")
    op.drop_table("contact_grants")
    with op.batch_alter_table("contact_flag_tags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_flag_tags_local_day_tag"))

    op.drop_table("contact_flag_tags")
    op.drop_table("contact_flag_batches")
    op.drop_table("contact_day_epochs")

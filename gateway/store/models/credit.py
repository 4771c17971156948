"""Credit records a member holds: borrowers, accounts and what hangs off them.

``borrowers`` is the only table holding raw PII (resident ID, name, mobile,
address). It never leaves the node: nothing exports it, and every other table
refers to a borrower by its local integer id only.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from gateway.store.enums import (
    AccountStatus,
    AppealState,
    BlacklistReason,
    ContactChannel,
    Decision,
    Education,
    Gender,
    MaritalStatus,
    ReasonCode,
    Segment,
)
from gateway.store.models.base import Base
from gateway.store.types import Money, UTCDateTime, enum_type

_BORROWER_FK = "borrowers.id"
_ACCOUNT_FK = "accounts.id"


class Borrower(Base):
    """A natural person the member lends to. Holds PII; never exported."""

    __tablename__ = "borrowers"

    id: Mapped[int] = mapped_column(primary_key=True)
    borrower_ref: Mapped[str] = mapped_column(sa.String(64), unique=True)
    resident_id: Mapped[str] = mapped_column(sa.String(18), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    mobile: Mapped[str] = mapped_column(sa.String(11))
    address: Mapped[str] = mapped_column(sa.String(400))
    province: Mapped[str] = mapped_column(sa.String(40))
    # Optional descriptive attributes: many loan books do not record them.
    gender: Mapped[Gender | None] = mapped_column(enum_type(Gender, name="gender"))
    education: Mapped[Education | None] = mapped_column(enum_type(Education, name="education"))
    marital_status: Mapped[MaritalStatus | None] = mapped_column(
        enum_type(MaritalStatus, name="marital_status")
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Account(Base):
    """A loan or card account of a borrower."""

    __tablename__ = "accounts"
    __table_args__ = (
        sa.CheckConstraint("credit_limit >= 0", name="credit_limit_non_negative"),
        sa.CheckConstraint("principal >= 0", name="principal_non_negative"),
        sa.CheckConstraint("outstanding >= 0", name="outstanding_non_negative"),
        sa.CheckConstraint("days_past_due >= 0", name="days_past_due_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_ref: Mapped[str] = mapped_column(sa.String(64), unique=True)
    borrower_id: Mapped[int] = mapped_column(sa.ForeignKey(_BORROWER_FK), index=True)
    segment: Mapped[Segment] = mapped_column(enum_type(Segment, name="segment"))
    product: Mapped[str] = mapped_column(sa.String(100))
    credit_limit: Mapped[Decimal] = mapped_column(Money())
    principal: Mapped[Decimal] = mapped_column(Money())
    outstanding: Mapped[Decimal] = mapped_column(Money())
    days_past_due: Mapped[int] = mapped_column(sa.Integer())
    status: Mapped[AccountStatus] = mapped_column(enum_type(AccountStatus, name="status"))
    opened_on: Mapped[dt.date] = mapped_column(sa.Date())
    # Null while the account is open.
    closed_on: Mapped[dt.date | None] = mapped_column(sa.Date())
    defaulted: Mapped[bool] = mapped_column(
        sa.Boolean(create_constraint=True, name="defaulted"), default=False
    )
    # Set only in an agency's store: the lender that entrusted the account.
    entrusted_by: Mapped[str | None] = mapped_column(sa.String(64))
    entrustment_expires_on: Mapped[dt.date | None] = mapped_column(sa.Date())


class RepaymentMonth(Base):
    """One monthly statement of an account (UCI "default of credit card clients" layout)."""

    __tablename__ = "repayment_history"
    __table_args__ = (
        sa.CheckConstraint("months_ago >= 1", name="months_ago_positive"),
        sa.CheckConstraint("repayment_status BETWEEN -2 AND 9", name="repayment_status_range"),
        sa.CheckConstraint("amount_paid >= 0", name="amount_paid_non_negative"),
    )

    account_id: Mapped[int] = mapped_column(sa.ForeignKey(_ACCOUNT_FK), primary_key=True)
    months_ago: Mapped[int] = mapped_column(sa.Integer(), primary_key=True)
    repayment_status: Mapped[int] = mapped_column(sa.Integer())
    # Negative when the statement shows a credit balance.
    statement_balance: Mapped[Decimal] = mapped_column(Money())
    amount_paid: Mapped[Decimal] = mapped_column(Money())


class Application(Base):
    """A credit application received by the member."""

    __tablename__ = "applications"
    __table_args__ = (sa.CheckConstraint("amount_requested >= 0", name="amount_requested_non_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_ref: Mapped[str] = mapped_column(sa.String(64), unique=True)
    borrower_id: Mapped[int] = mapped_column(sa.ForeignKey(_BORROWER_FK), index=True)
    applied_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    segment: Mapped[Segment] = mapped_column(enum_type(Segment, name="segment"))
    amount_requested: Mapped[Decimal] = mapped_column(Money())
    decision: Mapped[Decision] = mapped_column(enum_type(Decision, name="decision"))


class Inquiry(Base):
    """A subject check this node made itself; the subject is named by token only."""

    __tablename__ = "inquiries"

    id: Mapped[int] = mapped_column(primary_key=True)
    query_id: Mapped[str] = mapped_column(sa.String(64), unique=True)
    subject_token: Mapped[bytes] = mapped_column(sa.LargeBinary(), index=True)
    token_key_epoch: Mapped[int] = mapped_column(sa.Integer())
    reason_code: Mapped[ReasonCode] = mapped_column(enum_type(ReasonCode, name="reason_code"))
    consent_ref: Mapped[str] = mapped_column(sa.String(64))
    queried_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class ContactAttempt(Base):
    """One collection contact attempt on an account."""

    __tablename__ = "contact_attempts"
    __table_args__ = (sa.Index(None, "account_id", "attempted_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_ref: Mapped[str] = mapped_column(sa.String(64), unique=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey(_ACCOUNT_FK))
    attempted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    channel: Mapped[ContactChannel] = mapped_column(enum_type(ContactChannel, name="channel"))
    # Null for channels without a number (visit, letter, app message).
    contact_number: Mapped[str | None] = mapped_column(sa.String(11))
    connected: Mapped[bool] = mapped_column(sa.Boolean(create_constraint=True, name="connected"))
    # Null when the member contacted the debtor itself.
    agency_member_id: Mapped[str | None] = mapped_column(sa.String(64))
    # Null until the outcome is recorded.
    outcome: Mapped[str | None] = mapped_column(sa.String(200))


class BlacklistEntry(Base):
    """A blacklist contribution; it stays here and is answered inside subject checks."""

    __tablename__ = "blacklist_entries"
    __table_args__ = (sa.CheckConstraint("expires_on > listed_on", name="expires_after_listed"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_ref: Mapped[str] = mapped_column(sa.String(64), unique=True)
    borrower_id: Mapped[int] = mapped_column(sa.ForeignKey(_BORROWER_FK), index=True)
    reason: Mapped[BlacklistReason] = mapped_column(enum_type(BlacklistReason, name="reason"))
    evidence_ref: Mapped[str] = mapped_column(sa.String(200))
    listed_on: Mapped[dt.date] = mapped_column(sa.Date())
    expires_on: Mapped[dt.date] = mapped_column(sa.Date())
    appeal_state: Mapped[AppealState] = mapped_column(
        enum_type(AppealState, name="appeal_state"), default=AppealState.NONE
    )


class Consent(Base):
    """A borrower's consent to a query purpose towards a counterparty scope."""

    __tablename__ = "consents"
    __table_args__ = (sa.CheckConstraint("expires_on >= granted_on", name="expires_after_granted"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    consent_ref: Mapped[str] = mapped_column(sa.String(64), unique=True)
    borrower_id: Mapped[int] = mapped_column(sa.ForeignKey(_BORROWER_FK), index=True)
    purpose: Mapped[ReasonCode] = mapped_column(enum_type(ReasonCode, name="purpose"))
    counterparty_scope: Mapped[str] = mapped_column(sa.String(64))
    granted_on: Mapped[dt.date] = mapped_column(sa.Date())
    expires_on: Mapped[dt.date] = mapped_column(sa.Date())
    # Null while the consent stands.
    revoked_on: Mapped[dt.date | None] = mapped_column(sa.Date())

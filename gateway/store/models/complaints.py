"""Complaints a member received (投诉闭环): intake, SLA clocks, escalation, closure.

A complaint stays at the member that received it (its summary may hold personal data). The
entrusting lender and the agency involved are named by member id, and the other party's
own reference for the same complaint links the two records.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from gateway.store.enums import (
    ComplaintCategory,
    ComplaintChannel,
    ComplaintGrade,
    ComplaintOutcome,
    ComplaintState,
)
from gateway.store.models.base import Base
from gateway.store.types import UTCDateTime, enum_type


class Complaint(Base):
    """One complaint and where it stands; due times are fixed at intake from the policy."""

    __tablename__ = "complaints"
    __table_args__ = (sa.Index(None, "state", "first_response_due"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_ref: Mapped[str] = mapped_column(sa.String(64), unique=True)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    channel: Mapped[ComplaintChannel] = mapped_column(enum_type(ComplaintChannel, name="channel"))
    category: Mapped[ComplaintCategory] = mapped_column(enum_type(ComplaintCategory, name="category"))
    grade: Mapped[ComplaintGrade] = mapped_column(enum_type(ComplaintGrade, name="grade"))
    # The account complained about, when the member holds it.
    account_id: Mapped[int | None] = mapped_column(sa.ForeignKey("accounts.id"), index=True)
    lender_member_id: Mapped[str | None] = mapped_column(sa.String(64))
    agency_member_id: Mapped[str | None] = mapped_column(sa.String(64))
    # The other party's reference for the same complaint.
    linked_ref: Mapped[str | None] = mapped_column(sa.String(64))
    # The complainant's words as taken down; stays at this member.
    summary: Mapped[str] = mapped_column(sa.Text())
    state: Mapped[ComplaintState] = mapped_column(enum_type(ComplaintState, name="state"))
    first_response_due: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    plan_due: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    responded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    planned_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[ComplaintOutcome | None] = mapped_column(enum_type(ComplaintOutcome, name="outcome"))
    escalated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    escalated_to: Mapped[str | None] = mapped_column(sa.String(64))
    # False for a copy registered from the other party's referral: counted once, where received.
    counted_here: Mapped[bool] = mapped_column(sa.Boolean(create_constraint=True, name="counted_here"))


class ComplaintEvent(Base):
    """One step in a complaint's history (received, responded, planned, escalated, closed)."""

    __tablename__ = "complaint_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(sa.ForeignKey("complaints.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    action: Mapped[str] = mapped_column(sa.String(32))
    actor: Mapped[str] = mapped_column(sa.String(64))
    note: Mapped[str] = mapped_column(sa.Text())

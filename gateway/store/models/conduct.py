"""Conduct screening results at an agency's (or lender's) own node; they never leave it.

Only counts by rule reach the regulator, through the differentially private report.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from gateway.store.enums import ConductSource
from gateway.store.models.base import Base
from gateway.store.types import UTCDateTime, enum_type


class ConductScreening(Base):
    """One transcript or note screened."""

    __tablename__ = "conduct_screenings"
    __table_args__ = (sa.UniqueConstraint("source_ref", "source_kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source_ref: Mapped[str] = mapped_column(sa.String(64))
    source_kind: Mapped[ConductSource] = mapped_column(enum_type(ConductSource, name="source_kind"))
    account_id: Mapped[int | None] = mapped_column(sa.ForeignKey("accounts.id"), index=True)
    # When the call happened or the note was written; null when unknown.
    occurred_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    screened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    utterances: Mapped[int] = mapped_column(sa.Integer())
    flagged: Mapped[int] = mapped_column(sa.Integer())


class ConductFlagRecord(Base):
    """One prohibited-conduct finding: the rule, the utterance and the character span."""

    __tablename__ = "conduct_flags"

    id: Mapped[int] = mapped_column(primary_key=True)
    screening_id: Mapped[int] = mapped_column(sa.ForeignKey("conduct_screenings.id"), index=True)
    rule: Mapped[str] = mapped_column(sa.String(40))
    utterance_index: Mapped[int] = mapped_column(sa.Integer())
    span_start: Mapped[int] = mapped_column(sa.Integer())
    span_end: Mapped[int] = mapped_column(sa.Integer())
    # The matched words (stay at this node).
    excerpt: Mapped[str] = mapped_column(sa.String(400))

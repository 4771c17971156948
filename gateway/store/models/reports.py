"""What a member keeps about the regulator reports it answers: requests, attempts, charges.

A member keeps, per request (named by the regulator's signed order), every attempt it answered
(phase, number, answering set, its masked share) and whether it revealed that attempt's
self-mask; and a ledger of charges in zCDP ρ keyed on the regulator its certificate names.
Together they let it answer a retry with the same share, refuse anything else the bureau tries
(re-asking, growing sets, a second opening), and refund only what it can tell was never
opened (issue #13).
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from gateway.store.enums import ReportAttemptState
from gateway.store.models.base import Base
from gateway.store.types import UTCDateTime, enum_type


class ReportRequest(Base):
    """One report request this member answered, as the regulator ordered it."""

    __tablename__ = "report_requests"

    request_hash: Mapped[bytes] = mapped_column(sa.LargeBinary(32), primary_key=True)
    # The regulator's member id and certificate fingerprint, from its verified certificate.
    regulator_id: Mapped[str] = mapped_column(sa.String(64), index=True)
    regulator_fingerprint: Mapped[str] = mapped_column(sa.String(64))
    template_id: Mapped[str] = mapped_column(sa.String(64))
    template_version: Mapped[int] = mapped_column(sa.Integer())
    period: Mapped[str] = mapped_column(sa.String(7), index=True)
    nonce: Mapped[bytes] = mapped_column(sa.LargeBinary(16))
    # Closed: a later request for the same report replaced it before anything was opened;
    # this member answers and opens nothing of it any more.
    closed: Mapped[bool] = mapped_column(sa.Boolean())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class ReportAttempt(Base):
    """One attempt of one phase this member answered, with the masked share it sent."""

    __tablename__ = "report_attempts"
    __table_args__ = (sa.UniqueConstraint("request_hash", "phase", "attempt"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_hash: Mapped[bytes] = mapped_column(
        sa.LargeBinary(32), sa.ForeignKey("report_requests.request_hash"), index=True
    )
    phase: Mapped[int] = mapped_column(sa.Integer())
    attempt: Mapped[int] = mapped_column(sa.Integer())
    # Comma-separated member ids, canonical order.
    participants: Mapped[str] = mapped_column(sa.Text())
    answering_set_hash: Mapped[bytes] = mapped_column(sa.LargeBinary(32))
    # What the masks of this attempt are bound to (phase, request and the phase's inputs).
    context_hash: Mapped[bytes] = mapped_column(sa.LargeBinary(32))
    # The masked share as sent (little-endian uint64 residues), re-sent on a retry.
    share: Mapped[bytes] = mapped_column(sa.LargeBinary())
    state: Mapped[ReportAttemptState] = mapped_column(enum_type(ReportAttemptState, name="state"))
    answered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    opened_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class ReportCharge(Base):
    """One charge to this member's privacy budget: an attempt it answered (ρ, zCDP)."""

    __tablename__ = "report_charges"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_hash: Mapped[bytes] = mapped_column(sa.LargeBinary(32), index=True)
    phase: Mapped[int] = mapped_column(sa.Integer())
    attempt: Mapped[int] = mapped_column(sa.Integer())
    regulator_id: Mapped[str] = mapped_column(sa.String(64), index=True)
    period: Mapped[str] = mapped_column(sa.String(7), index=True)
    template_id: Mapped[str] = mapped_column(sa.String(64))
    template_version: Mapped[int] = mapped_column(sa.Integer())
    rho: Mapped[float] = mapped_column(sa.Float())
    charged_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    # Set when the member refunded the charge: the attempt can never be opened.
    refunded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)

"""State the subject check keeps: the querier's round seeds and the bureau's answer cache."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from gateway.store.enums import ReasonCode
from gateway.store.models.base import Base
from gateway.store.types import UTCDateTime, enum_type


class CheckRound(Base):
    """At the querier: the mask seed of each round it started, to open its answers later.

    The seed never leaves the querier's node; with it the querier can read a row the
    bureau answers from its cache on a repeated check.
    """

    __tablename__ = "check_rounds"

    request_hash: Mapped[bytes] = mapped_column(sa.LargeBinary(32), primary_key=True)
    query_seed: Mapped[bytes] = mapped_column(sa.LargeBinary(32))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class CachedCheckRow(Base):
    """At the bureau: a masked answer row, reused for a repeated check the same local day.

    Keyed by querier, reason, day and the subject's dedup tag (a per-day pseudonym the
    responders verify); the row is still masked with the querier's seed.
    """

    __tablename__ = "check_cache"
    __table_args__ = (sa.UniqueConstraint("querier_member_id", "reason", "local_day", "dedup_tag"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    querier_member_id: Mapped[str] = mapped_column(sa.String(64))
    reason: Mapped[ReasonCode] = mapped_column(enum_type(ReasonCode, name="reason"))
    local_day: Mapped[dt.date] = mapped_column(sa.Date())
    dedup_tag: Mapped[bytes] = mapped_column(sa.LargeBinary(32))
    masked_row: Mapped[bytes] = mapped_column(sa.LargeBinary())
    # Position of the row in its round's matrix, and that matrix's row count.
    row_index: Mapped[int] = mapped_column(sa.Integer())
    round_rows: Mapped[int] = mapped_column(sa.Integer())
    request_hash: Mapped[bytes] = mapped_column(sa.LargeBinary(32))
    attempt: Mapped[int] = mapped_column(sa.Integer())
    members_asked: Mapped[int] = mapped_column(sa.Integer())
    members_answered: Mapped[int] = mapped_column(sa.Integer())
    participants: Mapped[int] = mapped_column(sa.Integer())
    # Comma-separated segment numbers: entry s-1 is what segment s reported under.
    segment_map: Mapped[str] = mapped_column(sa.String(32))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

"""State the subject check keeps: the querier's round seeds and the bureau's answer cache."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from gateway.store.enums import RoundState
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

    Keyed by querier, day and the subject's dedup tag (HMAC under the members' secret, which
    the bureau lacks), whatever the reason (issue #11: a second reason must not reopen the
    round); the row is still masked with the querier's seed. Rows of earlier days are purged.
    """

    __tablename__ = "check_cache"
    __table_args__ = (sa.UniqueConstraint("querier_member_id", "local_day", "dedup_tag"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    querier_member_id: Mapped[str] = mapped_column(sa.String(64))
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


class CheckRoundInfo(Base):
    """At the bureau: who answered a cached round, and each member's signed digest.

    The querier verifies the bureau's sum against these digests (issue #11 finding 9);
    purged with the cache rows of its day.
    """

    __tablename__ = "check_round_info"

    request_hash: Mapped[bytes] = mapped_column(sa.LargeBinary(32), primary_key=True)
    attempt: Mapped[int] = mapped_column(sa.Integer())
    local_day: Mapped[dt.date] = mapped_column(sa.Date(), index=True)
    # Comma-separated participant ids in canonical order.
    participants: Mapped[str] = mapped_column(sa.Text())
    # JSON list of [member_id, digest hex, signature hex].
    proofs: Mapped[str] = mapped_column(sa.Text())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class ResponderRound(Base):
    """At every responder: the durable state of each (request, attempt) it answered.

    A request is answered at most once per attempt, attempts strictly increase, each
    later answering set is a strict subset of the earlier one, and once an attempt is
    finalized (its self-mask seed revealed) no later attempt is answered
    (docs/masked-aggregation.md). Rows older than the freshness window are purged.
    """

    __tablename__ = "responder_rounds"
    __table_args__ = (sa.UniqueConstraint("request_hash", "attempt"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_hash: Mapped[bytes] = mapped_column(sa.LargeBinary(32), index=True)
    attempt: Mapped[int] = mapped_column(sa.Integer())
    answering_set_hash: Mapped[bytes] = mapped_column(sa.LargeBinary(32))
    participants: Mapped[str] = mapped_column(sa.Text())
    state: Mapped[RoundState] = mapped_column(enum_type(RoundState, name="round_state"))
    answered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)


class AccessStatement(Base):
    """At every responder: a relaying member's signed subject-access statement it accepted.

    Counted per relayer and day for the rate limit; the statement hash is unique, so a
    statement is answered once.
    """

    __tablename__ = "access_statements"

    statement_hash: Mapped[bytes] = mapped_column(sa.LargeBinary(32), primary_key=True)
    relayer_member_id: Mapped[str] = mapped_column(sa.String(64), index=True)
    local_day: Mapped[dt.date] = mapped_column(sa.Date())
    lookup_tag: Mapped[bytes] = mapped_column(sa.LargeBinary(32))
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class OPRFUsage(Base):
    """At the bureau: OPRF evaluations charged per member and period (day or month).

    Persisted so that caps survive a restart (issue #11 finding 8).
    """

    __tablename__ = "oprf_usage"

    member_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    period: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    used: Mapped[int] = mapped_column(sa.BigInteger())
    alerted: Mapped[bool] = mapped_column(sa.Boolean(), server_default=sa.false())

"""Contact clearance state: the bureau's per-day reservations and flags, the members' own records.

At the bureau every row names a debtor or a number only by a per-day keyed tag (never a
token, never a person), is keyed by its consortium-local day, and is deleted once the day is
older than the policy's retention. At a member, flags, entrustments, grants and its own
clearance log stay on the node.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from gateway.store.enums import (
    ClearanceDecision,
    ContactChannel,
    ContactFlagKind,
    ContactParty,
    ReservationState,
)
from gateway.store.models.base import Base
from gateway.store.types import UTCDateTime, enum_type

_ACCOUNT_FK = "accounts.id"


class ContactReservation(Base):
    """At the bureau: one granted contact slot, open until settled by its outcome or expired.

    The caps are counted from these rows: connected calls and open slots per (day, scope,
    debtor tag); unanswered attempts and open slots per (day, scope, number tag).
    """

    __tablename__ = "contact_reservations"
    __table_args__ = (
        sa.Index(None, "local_day", "scope_lender", "debtor_tag"),
        sa.Index(None, "local_day", "scope_lender", "number_tag"),
    )

    reservation_id: Mapped[bytes] = mapped_column(sa.LargeBinary(16), primary_key=True)
    local_day: Mapped[dt.date] = mapped_column(sa.Date())
    requester_member_id: Mapped[str] = mapped_column(sa.String(64))
    # The lender whose collection the counters belong to; "" when caps are consortium-wide.
    scope_lender: Mapped[str] = mapped_column(sa.String(64))
    debtor_tag: Mapped[bytes] = mapped_column(sa.LargeBinary(32))
    # Null for a channel that reaches no number (a visit, a letter).
    number_tag: Mapped[bytes | None] = mapped_column(sa.LargeBinary(32))
    channel: Mapped[ContactChannel] = mapped_column(enum_type(ContactChannel, name="channel"))
    party: Mapped[ContactParty] = mapped_column(enum_type(ContactParty, name="party"))
    # Whether the channel is an interactive call (counts toward the caps).
    counts_call: Mapped[bool] = mapped_column(sa.Boolean(create_constraint=True, name="counts_call"))
    state: Mapped[ReservationState] = mapped_column(enum_type(ReservationState, name="state"))
    granted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    # Null while open.
    settled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # The outcome arrived after the reservation had expired.
    late: Mapped[bool] = mapped_column(sa.Boolean(create_constraint=True, name="late"), default=False)


class ContactRequestRecord(Base):
    """At the bureau: the answer given to one idempotency key, replayed on a retry."""

    __tablename__ = "contact_requests"

    requester_member_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    idempotency_key: Mapped[bytes] = mapped_column(sa.LargeBinary(16), primary_key=True)
    local_day: Mapped[dt.date] = mapped_column(sa.Date(), index=True)
    # SHA-256 of the request's canonical form: a key reused for another request is refused.
    request_digest: Mapped[bytes] = mapped_column(sa.LargeBinary(32))
    decision: Mapped[ClearanceDecision] = mapped_column(enum_type(ClearanceDecision, name="decision"))
    reservation_id: Mapped[bytes | None] = mapped_column(sa.LargeBinary(16))
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    retry_after: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    tag_key_epoch: Mapped[int] = mapped_column(sa.Integer())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class ContactFlagTagRecord(Base):
    """At the bureau: one standing flag for one day, as a tag, from the member that holds it."""

    __tablename__ = "contact_flag_tags"
    __table_args__ = (sa.Index(None, "local_day", "tag"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    local_day: Mapped[dt.date] = mapped_column(sa.Date())
    publisher_member_id: Mapped[str] = mapped_column(sa.String(64))
    tag: Mapped[bytes] = mapped_column(sa.LargeBinary(32))
    kind: Mapped[ContactFlagKind] = mapped_column(enum_type(ContactFlagKind, name="kind"))
    # "" for a consortium-wide flag.
    scope_lender: Mapped[str] = mapped_column(sa.String(64))
    # "" unless the flag ends one agency's entrustment.
    agency_member_id: Mapped[str] = mapped_column(sa.String(64))


class ContactFlagBatch(Base):
    """At the bureau: that a member published its flags for a day (fail closed without it)."""

    __tablename__ = "contact_flag_batches"

    local_day: Mapped[dt.date] = mapped_column(sa.Date(), primary_key=True)
    publisher_member_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    tag_key_epoch: Mapped[int] = mapped_column(sa.Integer())
    flags: Mapped[int] = mapped_column(sa.Integer())
    published_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class ContactDayEpoch(Base):
    """At the bureau: the epoch of the members' secret a day's counters are keyed under."""

    __tablename__ = "contact_day_epochs"

    local_day: Mapped[dt.date] = mapped_column(sa.Date(), primary_key=True)
    tag_key_epoch: Mapped[int] = mapped_column(sa.Integer())
    pinned_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class ContactFlag(Base):
    """At a member: a flag it set that stops contact, with its provenance and expiry.

    It stays on the node; each day the node publishes the day's tag of every standing flag
    (``gateway.contact.flags``), so the bureau applies it without learning who set it for whom.
    """

    __tablename__ = "contact_flags"

    id: Mapped[int] = mapped_column(primary_key=True)
    flag_ref: Mapped[str] = mapped_column(sa.String(64), unique=True)
    kind: Mapped[ContactFlagKind] = mapped_column(enum_type(ContactFlagKind, name="kind"))
    # The flagged debtor; null for a flag on a third party's number.
    borrower_id: Mapped[int | None] = mapped_column(sa.ForeignKey("borrowers.id"), index=True)
    # Only for THIRD_PARTY_REFUSED: the number that asked not to be called (stays here).
    contact_number: Mapped[str | None] = mapped_column(sa.String(11))
    # The lender whose collection it stops; null when it stops all collection.
    scope_lender: Mapped[str | None] = mapped_column(sa.String(64))
    # Only for ENTRUSTMENT_ENDED: the agency whose grants stop counting.
    agency_member_id: Mapped[str | None] = mapped_column(sa.String(64))
    set_by_member_id: Mapped[str] = mapped_column(sa.String(64))
    # Where the flag comes from: the debtor's letter, a court notice, a call reference...
    provenance: Mapped[str] = mapped_column(sa.String(200))
    set_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    # Last local day the flag stands (inclusive).
    expires_on: Mapped[dt.date] = mapped_column(sa.Date())
    # Null while the flag stands.
    lifted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class ContactEntrustment(Base):
    """At a lender: an account it entrusted to an agency, and on what terms (PIPL Art. 21)."""

    __tablename__ = "contact_entrustments"
    __table_args__ = (sa.UniqueConstraint("account_id", "agency_member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey(_ACCOUNT_FK), index=True)
    agency_member_id: Mapped[str] = mapped_column(sa.String(64))
    starts_on: Mapped[dt.date] = mapped_column(sa.Date())
    expires_on: Mapped[dt.date] = mapped_column(sa.Date())
    # Comma-separated channel names the agency may use.
    channels: Mapped[str] = mapped_column(sa.String(100))
    third_party_allowed: Mapped[bool] = mapped_column(
        sa.Boolean(create_constraint=True, name="third_party_allowed")
    )
    # Null unless the lender ended the entrustment early.
    ended_on: Mapped[dt.date | None] = mapped_column(sa.Date())


class ContactGrantRecord(Base):
    """At an agency: a lender's signed grant for one debtor tag and day, presented to the bureau."""

    __tablename__ = "contact_grants"
    __table_args__ = (sa.UniqueConstraint("local_day", "debtor_tag", "lender_member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    local_day: Mapped[int] = mapped_column(sa.Integer())
    debtor_tag: Mapped[bytes] = mapped_column(sa.LargeBinary(32))
    lender_member_id: Mapped[str] = mapped_column(sa.String(64))
    agency_member_id: Mapped[str] = mapped_column(sa.String(64))
    tag_key_epoch: Mapped[int] = mapped_column(sa.Integer())
    channels: Mapped[str] = mapped_column(sa.String(100))
    third_party_allowed: Mapped[bool] = mapped_column(
        sa.Boolean(create_constraint=True, name="third_party_allowed")
    )
    version: Mapped[int] = mapped_column(sa.Integer())
    lender_certificate: Mapped[bytes] = mapped_column(sa.LargeBinary())
    signature: Mapped[bytes] = mapped_column(sa.LargeBinary())


class ContactClearanceRecord(Base):
    """At a member: every clearance it asked for, the decision and the outcome it recorded.

    Feeds the regulator report's "contacts prevented, by rule" histogram.
    """

    __tablename__ = "contact_clearances"
    __table_args__ = (sa.Index(None, "account_id", "requested_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[bytes] = mapped_column(sa.LargeBinary(16), unique=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey(_ACCOUNT_FK))
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    local_day: Mapped[dt.date] = mapped_column(sa.Date())
    channel: Mapped[ContactChannel] = mapped_column(enum_type(ContactChannel, name="channel"))
    party: Mapped[ContactParty] = mapped_column(enum_type(ContactParty, name="party"))
    decision: Mapped[ClearanceDecision] = mapped_column(enum_type(ClearanceDecision, name="decision"))
    reservation_id: Mapped[bytes | None] = mapped_column(sa.LargeBinary(16), unique=True)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # Null until the outcome is recorded.
    outcome: Mapped[ReservationState | None] = mapped_column(enum_type(ReservationState, name="outcome"))
    recorded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

"""Pinned peer certificates and keys: the one place a member accepts another node's keys.

A peer's certificate and key bundle are pinned on first use (after the CA check and the
key-log hook, ``gateway.node.pins``); a later bundle under the same certificate with a
newer time is a key rotation; a different certificate is held as a candidate until an
operator accepts it (``credgate peers accept``).
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from gateway.roles import Role
from gateway.store.models.base import Base
from gateway.store.types import UTCDateTime, enum_type


class PeerPin(Base):
    """A peer's pinned certificate and key bundle, with the role its certificate names."""

    __tablename__ = "peer_pins"

    member_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    role: Mapped[Role] = mapped_column(enum_type(Role, name="role"))
    cert_fingerprint: Mapped[str] = mapped_column(sa.String(64))
    certificate_der: Mapped[bytes] = mapped_column(sa.LargeBinary())
    hpke_public_key: Mapped[bytes] = mapped_column(sa.LargeBinary(32))
    mask_public_key: Mapped[bytes] = mapped_column(sa.LargeBinary(32))
    keys_created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    keys_signature: Mapped[bytes] = mapped_column(sa.LargeBinary())
    pinned_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class PeerPinCandidate(Base):
    """A different certificate seen for a pinned peer, held until an operator accepts it."""

    __tablename__ = "peer_pin_candidates"

    member_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    cert_fingerprint: Mapped[str] = mapped_column(sa.String(64))
    certificate_der: Mapped[bytes] = mapped_column(sa.LargeBinary())
    hpke_public_key: Mapped[bytes] = mapped_column(sa.LargeBinary(32))
    mask_public_key: Mapped[bytes] = mapped_column(sa.LargeBinary(32))
    keys_created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    keys_signature: Mapped[bytes] = mapped_column(sa.LargeBinary())
    seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

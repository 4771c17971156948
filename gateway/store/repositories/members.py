"""The bureau's member directory: registrations and heartbeats."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from gateway.errors import InvalidInputError, NotFoundError
from gateway.roles import Role
from gateway.store.database import Store
from gateway.store.models import Member
from gateway.store.models.base import table_of

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class MemberRecord:
    """A registered member as the directory knows it."""

    member_id: str
    role: Role
    address: str
    cert_fingerprint: str
    cert_serial: str
    registered_at: dt.datetime
    last_seen_at: dt.datetime | None
    software_version: str
    protocol_version: str
    keys: PublishedKeys | None = None
    blacklist_listings: int = 0


@dataclass(frozen=True)
class PublishedKeys:
    """A member's certificate and signed key bundle, as it registered them (not verified here)."""

    certificate_der: bytes
    hpke_public_key: bytes
    mask_public_key: bytes
    created_at: dt.datetime
    signature: bytes


class MemberDirectory:
    """Repository over the ``members`` table.

    Parameters
    ----------
    store
        The bureau's store.

    """

    def __init__(self, store: Store) -> None:
        self._store = store

    def upsert_registration(
        self,
        *,
        member_id: str,
        role: Role,
        address: str,
        cert_fingerprint: str,
        cert_serial: str,
        software_version: str,
        protocol_version: str,
        at: dt.datetime,
        keys: PublishedKeys | None = None,
    ) -> MemberRecord:
        """Register a member, or replace its registration (new address or certificate).

        Registering is a sign of life: ``registered_at`` and ``last_seen_at`` become ``at``.

        Raises
        ------
        InvalidInputError
            When the fingerprint is not 64 hex characters or ``at`` is naive.

        """
        _require_aware(at)
        fingerprint = cert_fingerprint.lower()
        if len(fingerprint) != 64 or any(c not in "0123456789abcdef" for c in fingerprint):
            raise InvalidInputError(
                "expected a SHA-256 fingerprint of 64 hex characters", field="cert_fingerprint"
            )
        with self._store.transaction() as session:
            # Row lock on PostgreSQL so concurrent re-registrations apply one after the other.
            member = session.get(Member, member_id, with_for_update=True)
            if member is None:
                member = Member(member_id=member_id, last_seen_at=None)
                session.add(member)
            member.role = role
            member.address = address
            member.cert_fingerprint = fingerprint
            member.cert_serial = cert_serial
            member.software_version = software_version
            member.protocol_version = protocol_version
            member.registered_at = at
            if keys is not None:
                member.certificate_der = keys.certificate_der
                member.hpke_public_key = keys.hpke_public_key
                member.mask_public_key = keys.mask_public_key
                member.keys_created_at = keys.created_at
                member.keys_signature = keys.signature
            member.last_seen_at = at
            session.flush()
            return _to_record(member)

    def touch_heartbeat(
        self,
        member_id: str,
        at: dt.datetime,
        *,
        software_version: str | None = None,
        protocol_version: str | None = None,
        blacklist_listings: int | None = None,
        address: str | None = None,
    ) -> MemberRecord:
        """Record that ``member_id`` was seen at ``at``, optionally with new versions, counts, address.

        Raises
        ------
        NotFoundError
            When the member is not registered.

        """
        _require_aware(at)
        with self._store.transaction() as session:
            member = session.get(Member, member_id, with_for_update=True)
            if member is None:
                raise NotFoundError(f"member {member_id!r} is not registered")
            member.last_seen_at = at
            if software_version is not None:
                member.software_version = software_version
            if protocol_version is not None:
                member.protocol_version = protocol_version
            if blacklist_listings is not None:
                member.blacklist_listings = blacklist_listings
            if address is not None and address != member.address:
                logger.warning(
                    "address_corrected", extra={"member": member_id, "old": member.address, "new": address}
                )
                member.address = address
            session.flush()
            return _to_record(member)

    def get(self, member_id: str) -> MemberRecord:
        """Return one member.

        Raises
        ------
        NotFoundError
            When the member is not registered.

        """
        with self._store.transaction() as session:
            member = session.get(Member, member_id)
            if member is None:
                raise NotFoundError(f"member {member_id!r} is not registered")
            return _to_record(member)

    def remove(self, member_id: str) -> None:
        """Delete a member's registration (an operator's decision; audited by the caller).

        Raises
        ------
        NotFoundError
            When the member is not registered.

        """
        with self._store.transaction() as session:
            member = session.get(Member, member_id)
            if member is None:
                raise NotFoundError(f"member {member_id!r} is not registered")
            session.delete(member)

    def list_members(self, *, role: Role | None = None) -> list[MemberRecord]:
        """Return all members (or those of one role), ordered by member id."""
        # The bureau reads the whole directory on every subject check: columns, not ORM objects.
        query = _ALL_MEMBERS if role is None else _ALL_MEMBERS.where(_MEMBERS.c.role == role)
        with self._store.connection() as connection:
            return [_to_record(member) for member in connection.execute(query)]


def _require_aware(at: dt.datetime) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise InvalidInputError("expected a time-zone aware timestamp", field="at")


def _to_record(member: Member | sa.Row[Any]) -> MemberRecord:
    return MemberRecord(
        member_id=member.member_id,
        role=Role(member.role),
        address=member.address,
        cert_fingerprint=member.cert_fingerprint,
        cert_serial=member.cert_serial,
        registered_at=member.registered_at,
        last_seen_at=member.last_seen_at,
        software_version=member.software_version,
        protocol_version=member.protocol_version,
        keys=_published_keys(member),
        blacklist_listings=member.blacklist_listings,
    )


def _published_keys(member: Member | sa.Row[Any]) -> PublishedKeys | None:
    if (
        member.certificate_der is None
        or member.hpke_public_key is None
        or member.mask_public_key is None
        or member.keys_created_at is None
        or member.keys_signature is None
    ):
        return None
    return PublishedKeys(
        certificate_der=member.certificate_der,
        hpke_public_key=member.hpke_public_key,
        mask_public_key=member.mask_public_key,
        created_at=member.keys_created_at,
        signature=member.keys_signature,
    )


_MEMBERS = table_of(Member)
_ALL_MEMBERS = sa.select(_MEMBERS).order_by(_MEMBERS.c.member_id)

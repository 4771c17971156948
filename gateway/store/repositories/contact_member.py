"""A member's own contact records: flags it set, entrustments, grants, and its clearance log.

Nothing here leaves the node as it is stored: flags and grants reach the bureau only as the
day's keyed tags (``gateway.contact.flags``, ``gateway.contact.client``).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from gateway.errors import InvalidInputError, NotFoundError
from gateway.store.database import Store
from gateway.store.enums import (
    ClearanceDecision,
    ContactChannel,
    ContactFlagKind,
    ContactParty,
    ReservationState,
    TokenType,
)
from gateway.store.models import Account, Borrower, ContactAttempt, SubjectTokenRecord
from gateway.store.models.contact import (
    ContactClearanceRecord,
    ContactEntrustment,
    ContactFlag,
    ContactGrantRecord,
)

__all__ = [
    "AccountForContact",
    "ClearanceLog",
    "ContactFlags",
    "Entrustments",
    "FlagRecord",
    "GrantRecord",
    "Grants",
    "LiveEntrustment",
    "account_for_contact",
]

_IN_BATCH = 900


@dataclass(frozen=True)
class AccountForContact:
    """What the dialer library needs about one account of this member's store."""

    account_id: int
    account_ref: str
    borrower_id: int
    mobile: str
    # The entrusting lender, on an agency's copy; None on a lender's own account.
    entrusted_by: str | None
    entrustment_expires_on: dt.date | None


def account_for_contact(store: Store, account_ref: str) -> AccountForContact:
    """Look an account up by reference.

    Raises
    ------
    NotFoundError
        When this member holds no such account.

    """
    query = (
        sa.select(
            Account.id,
            Account.account_ref,
            Account.borrower_id,
            Borrower.mobile,
            Account.entrusted_by,
            Account.entrustment_expires_on,
        )
        .join(Borrower, Borrower.id == Account.borrower_id)
        .where(Account.account_ref == account_ref)
    )
    with store.transaction() as session:
        row = session.execute(query).first()
    if row is None:
        raise NotFoundError(f"account_ref: this member holds no account {account_ref!r}")
    return AccountForContact(*row)


def resident_tokens(store: Store, epoch: int, borrower_ids: Sequence[int]) -> dict[int, bytes]:
    """``borrower_id → resident-ID token`` under ``epoch`` for those that have one."""
    found: dict[int, bytes] = {}
    wanted = sorted(set(borrower_ids))
    with store.transaction() as session:
        for start in range(0, len(wanted), _IN_BATCH):
            query = sa.select(SubjectTokenRecord.borrower_id, SubjectTokenRecord.token).where(
                SubjectTokenRecord.token_kind == TokenType.RESIDENT_ID,
                SubjectTokenRecord.key_epoch == epoch,
                SubjectTokenRecord.borrower_id.in_(wanted[start : start + _IN_BATCH]),
            )
            found.update({b: t for b, t in session.execute(query)})
    return found


def borrower_resident_ids(store: Store, borrower_ids: Sequence[int]) -> dict[int, str]:
    """``borrower_id → resident ID``, to be tokenised on this node (never sent)."""
    wanted = sorted(set(borrower_ids))
    found: dict[int, str] = {}
    with store.transaction() as session:
        for start in range(0, len(wanted), _IN_BATCH):
            query = sa.select(Borrower.id, Borrower.resident_id).where(
                Borrower.id.in_(wanted[start : start + _IN_BATCH])
            )
            found.update({b: r for b, r in session.execute(query)})
    return found


# --- flags ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FlagRecord:
    """A flag this member set."""

    flag_ref: str
    kind: ContactFlagKind
    borrower_id: int | None
    contact_number: str | None
    scope_lender: str | None
    agency_member_id: str | None
    set_by_member_id: str
    provenance: str
    set_at: dt.datetime
    expires_on: dt.date
    lifted_at: dt.datetime | None


class ContactFlags:
    """Repository over ``contact_flags``."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def add(self, flag: FlagRecord) -> None:
        """Keep a new flag.

        Raises
        ------
        InvalidInputError
            When a number flag has no number, a debtor flag has no debtor, or the reference is taken.

        """
        if (flag.kind is ContactFlagKind.THIRD_PARTY_REFUSED) != (flag.contact_number is not None):
            raise InvalidInputError(
                "a third party's refusal names a number, other flags a debtor", field="kind"
            )
        if flag.kind is not ContactFlagKind.THIRD_PARTY_REFUSED and flag.borrower_id is None:
            raise InvalidInputError("expected the flagged debtor's account", field="account_ref")
        with self._store.transaction() as session:
            if (
                session.scalar(sa.select(ContactFlag.id).where(ContactFlag.flag_ref == flag.flag_ref))
                is not None
            ):
                raise InvalidInputError(f"flag {flag.flag_ref!r} exists already", field="flag_ref")
            session.add(ContactFlag(**flag.__dict__))

    def lift(self, flag_ref: str, *, at: dt.datetime) -> None:
        """Lift a standing flag.

        Raises
        ------
        NotFoundError
            When no standing flag has that reference.

        """
        with self._store.transaction() as session:
            row = session.scalar(
                sa.select(ContactFlag).where(
                    ContactFlag.flag_ref == flag_ref, ContactFlag.lifted_at.is_(None)
                )
            )
            if row is None:
                raise NotFoundError(f"flag_ref: no standing flag {flag_ref!r}")
            row.lifted_at = at

    def standing(self, day: dt.date, *, zone: dt.tzinfo) -> list[FlagRecord]:
        """Flags that stand on local ``day``: set by its end, not expired, not lifted."""
        end_of_day = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=zone)
        query = sa.select(ContactFlag).where(
            ContactFlag.lifted_at.is_(None), ContactFlag.expires_on >= day, ContactFlag.set_at < end_of_day
        )
        with self._store.transaction() as session:
            return [_flag(row) for row in session.scalars(query.order_by(ContactFlag.id))]

    def all(self) -> list[FlagRecord]:
        """Every flag, standing or not, oldest first."""
        with self._store.transaction() as session:
            return [_flag(row) for row in session.scalars(sa.select(ContactFlag).order_by(ContactFlag.id))]

    def version(self) -> tuple[int, str]:
        """Changes whenever a flag is set or lifted (the publisher re-publishes then)."""
        with self._store.transaction() as session:
            count = int(session.scalar(sa.select(sa.func.count()).select_from(ContactFlag)) or 0)
            lifted = session.scalar(sa.select(sa.func.max(ContactFlag.lifted_at)))
        return count, str(lifted)


def _flag(row: ContactFlag) -> FlagRecord:
    return FlagRecord(
        row.flag_ref,
        row.kind,
        row.borrower_id,
        row.contact_number,
        row.scope_lender,
        row.agency_member_id,
        row.set_by_member_id,
        row.provenance,
        row.set_at,
        row.expires_on,
        row.lifted_at,
    )


# --- entrustments (at a lender) -------------------------------------------------------------


@dataclass(frozen=True)
class LiveEntrustment:
    """An entrustment standing on a day, with the entrusted debtor's local id."""

    account_id: int
    borrower_id: int
    agency_member_id: str
    channels: frozenset[ContactChannel]
    third_party_allowed: bool
    expires_on: dt.date


class Entrustments:
    """Repository over ``contact_entrustments`` (a lender's record of what it entrusted)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def entrust(
        self,
        account_ref: str,
        *,
        agency: str,
        starts_on: dt.date,
        expires_on: dt.date,
        channels: Iterable[ContactChannel],
        third_party_allowed: bool,
    ) -> None:
        """Record (or renew) that an own account is entrusted to ``agency``.

        Raises
        ------
        NotFoundError
            When the lender holds no such account of its own.
        InvalidInputError
            When the period is empty or no channel is named.

        """
        chosen = sorted({c.value for c in channels})
        if not chosen:
            raise InvalidInputError("expected at least one channel", field="channels")
        if expires_on < starts_on:
            raise InvalidInputError("the entrustment ends before it starts", field="expires_on")
        with self._store.transaction() as session:
            account_id = session.scalar(
                sa.select(Account.id).where(
                    Account.account_ref == account_ref, Account.entrusted_by.is_(None)
                )
            )
            if account_id is None:
                raise NotFoundError(f"account_ref: no own account {account_ref!r}")
            row = session.scalar(
                sa.select(ContactEntrustment).where(
                    ContactEntrustment.account_id == account_id, ContactEntrustment.agency_member_id == agency
                )
            )
            if row is None:
                row = ContactEntrustment(account_id=account_id, agency_member_id=agency)
                session.add(row)
            row.starts_on, row.expires_on, row.ended_on = starts_on, expires_on, None
            row.channels, row.third_party_allowed = ",".join(chosen), third_party_allowed

    def end(self, account_ref: str, *, agency: str, on: dt.date) -> int:
        """End an entrustment early; returns the borrower whose grants stop counting.

        Raises
        ------
        NotFoundError
            When no such entrustment stands.

        """
        with self._store.transaction() as session:
            row = session.execute(
                sa.select(ContactEntrustment, Account.borrower_id)
                .join(Account, Account.id == ContactEntrustment.account_id)
                .where(Account.account_ref == account_ref, ContactEntrustment.agency_member_id == agency)
            ).first()
            if row is None:
                raise NotFoundError(f"no entrustment of {account_ref!r} to {agency!r}")
            row[0].ended_on = on
            return int(row[1])

    def live(self, day: dt.date, *, agency: str | None = None) -> list[LiveEntrustment]:
        """Entrustments standing on ``day`` (to ``agency`` only, when given)."""
        query = (
            sa.select(ContactEntrustment, Account.borrower_id)
            .join(Account, Account.id == ContactEntrustment.account_id)
            .where(
                ContactEntrustment.starts_on <= day,
                ContactEntrustment.expires_on >= day,
                sa.or_(ContactEntrustment.ended_on.is_(None), ContactEntrustment.ended_on > day),
            )
        )
        if agency is not None:
            query = query.where(ContactEntrustment.agency_member_id == agency)
        with self._store.transaction() as session:
            return [
                LiveEntrustment(
                    e.account_id,
                    borrower,
                    e.agency_member_id,
                    frozenset(ContactChannel(c) for c in e.channels.split(",")),
                    e.third_party_allowed,
                    e.expires_on,
                )
                for e, borrower in session.execute(query.order_by(ContactEntrustment.id))
            ]


# --- grants (at an agency) -----------------------------------------------------------------


@dataclass(frozen=True)
class GrantRecord:
    """A lender's signed grant as the agency keeps it."""

    local_day: int
    debtor_tag: bytes
    lender_member_id: str
    agency_member_id: str
    tag_key_epoch: int
    channels: frozenset[ContactChannel]
    third_party_allowed: bool
    version: int
    lender_certificate: bytes
    signature: bytes


class Grants:
    """Repository over ``contact_grants`` (an agency's grants from its lenders)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def save(self, grants: Iterable[GrantRecord]) -> int:
        """Keep grants (a grant already held for the same day, tag and lender is replaced)."""
        saved = 0
        with self._store.transaction() as session:
            for grant in grants:
                session.execute(
                    sa.delete(ContactGrantRecord).where(
                        ContactGrantRecord.local_day == grant.local_day,
                        ContactGrantRecord.debtor_tag == grant.debtor_tag,
                        ContactGrantRecord.lender_member_id == grant.lender_member_id,
                    )
                )
                values = {**grant.__dict__, "channels": ",".join(sorted(c.value for c in grant.channels))}
                session.add(ContactGrantRecord(**values))
                saved += 1
        return saved

    def for_day(self, local_day: int) -> dict[tuple[bytes, str], GrantRecord]:
        """Every grant held for ``local_day``, by ``(debtor tag, lender)``."""
        with self._store.transaction() as session:
            rows = session.scalars(
                sa.select(ContactGrantRecord).where(ContactGrantRecord.local_day == local_day)
            )
            return {(row.debtor_tag, row.lender_member_id): _grant(row) for row in rows}

    def find(self, local_day: int, debtor_tag: bytes, lender: str) -> GrantRecord | None:
        """The grant for a debtor tag and day from ``lender``."""
        with self._store.transaction() as session:
            row = session.scalar(
                sa.select(ContactGrantRecord).where(
                    ContactGrantRecord.local_day == local_day,
                    ContactGrantRecord.debtor_tag == debtor_tag,
                    ContactGrantRecord.lender_member_id == lender,
                )
            )
            return None if row is None else _grant(row)

    def purge_before(self, local_day: int) -> int:
        """Drop grants of days before ``local_day``."""
        with self._store.transaction() as session:
            result = session.execute(
                sa.delete(ContactGrantRecord).where(ContactGrantRecord.local_day < local_day)
            )
            return int(result.rowcount)  # type: ignore[attr-defined]  # CursorResult at run time


def _grant(row: ContactGrantRecord) -> GrantRecord:
    return GrantRecord(
        row.local_day,
        row.debtor_tag,
        row.lender_member_id,
        row.agency_member_id,
        row.tag_key_epoch,
        frozenset(ContactChannel(c) for c in row.channels.split(",")),
        row.third_party_allowed,
        row.version,
        row.lender_certificate,
        row.signature,
    )


# --- the member's clearance log ----------------------------------------------------------


class ClearanceLog:
    """Repository over ``contact_clearances`` and the contact attempts it settles."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def add(
        self,
        *,
        idempotency_key: bytes,
        account_id: int,
        requested_at: dt.datetime,
        local_day: dt.date,
        channel: ContactChannel,
        party: ContactParty,
        decision: ClearanceDecision,
        reservation_id: bytes | None,
        expires_at: dt.datetime | None,
    ) -> None:
        """Log a decision (each request has a fresh idempotency key)."""
        with self._store.transaction() as session:
            session.execute(
                sa.insert(ContactClearanceRecord),
                {
                    "idempotency_key": idempotency_key,
                    "account_id": account_id,
                    "requested_at": requested_at,
                    "local_day": local_day,
                    "channel": channel,
                    "party": party,
                    "decision": decision,
                    "reservation_id": reservation_id,
                    "expires_at": expires_at,
                    "outcome": None,
                    "recorded_at": None,
                },
            )

    def settle(
        self,
        reservation_id: bytes,
        outcome: ReservationState,
        *,
        at: dt.datetime,
        attempted_at: dt.datetime,
        contact_number: str | None,
        agency: str | None,
    ) -> None:
        """Record the outcome locally, with a contact attempt row for a contact that was made.

        Raises
        ------
        NotFoundError
            When this member logged no grant with that reservation.

        """
        with self._store.transaction() as session:
            row = session.scalar(
                sa.select(ContactClearanceRecord).where(
                    ContactClearanceRecord.reservation_id == reservation_id
                )
            )
            if row is None:
                raise NotFoundError("reservation_id: no grant with this reservation in this member's log")
            if row.outcome is not None:
                return
            row.outcome, row.recorded_at = outcome, at
            if outcome is ReservationState.RELEASED:
                return
            session.add(
                ContactAttempt(
                    contact_ref=f"clr-{reservation_id.hex()}",
                    account_id=row.account_id,
                    attempted_at=attempted_at,
                    channel=row.channel,
                    contact_number=contact_number,
                    connected=outcome is ReservationState.CONNECTED,
                    agency_member_id=agency,
                    outcome=outcome.value,
                )
            )

    def decisions(self, start: dt.datetime, end: dt.datetime) -> list[tuple[int, ClearanceDecision]]:
        """``(borrower_id, decision)`` of every clearance asked in ``[start, end)``."""
        query = (
            sa.select(Account.borrower_id, ContactClearanceRecord.decision)
            .join(Account, Account.id == ContactClearanceRecord.account_id)
            .where(ContactClearanceRecord.requested_at >= start, ContactClearanceRecord.requested_at < end)
        )
        with self._store.transaction() as session:
            return [(b, d) for b, d in session.execute(query)]

    def counts(self, day: dt.date) -> Counter[ClearanceDecision]:
        """Decisions logged on local ``day``."""
        query = sa.select(ContactClearanceRecord.decision).where(ContactClearanceRecord.local_day == day)
        with self._store.transaction() as session:
            return Counter(session.scalars(query))

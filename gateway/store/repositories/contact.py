"""The bureau's contact-clearance state: reservations, request records, flag tags, day epochs.

Every method takes the caller's open session, so that the desk reads the counters, decides
and writes its reservation in one transaction (``gateway.contact.desk``). On SQLite that
transaction holds the write lock from its first statement (``BEGIN IMMEDIATE``, see
``gateway/store/engine.py``), so two clearances of the last slot are serialised. On
PostgreSQL :meth:`BureauContactState.lock_counters` takes transaction-scoped advisory locks
on the counters a decision reads, in a fixed order, for the same effect.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from gateway.store.enums import (
    ClearanceDecision,
    ContactChannel,
    ContactFlagKind,
    ContactParty,
    ReservationState,
)
from gateway.store.models.contact import (
    ContactDayEpoch,
    ContactDecisionCount,
    ContactFlagBatch,
    ContactFlagTagRecord,
    ContactRequestRecord,
    ContactReservation,
)

__all__ = ["BureauContactState", "FlagRow", "PriorAnswer", "ReservationRow"]


@dataclass(frozen=True)
class PriorAnswer:
    """The answer already given to an idempotency key."""

    request_digest: bytes
    decision: ClearanceDecision
    reservation_id: bytes | None
    expires_at: dt.datetime | None
    retry_after: dt.datetime | None
    tag_key_epoch: int


@dataclass(frozen=True)
class ReservationRow:
    """A reservation as the desk sees it."""

    reservation_id: bytes
    requester_member_id: str
    channel: ContactChannel
    counts_call: bool
    state: ReservationState
    expires_at: dt.datetime


@dataclass(frozen=True)
class FlagRow:
    """A flag tag standing on a day."""

    tag: bytes
    kind: ContactFlagKind
    scope_lender: str
    agency_member_id: str


_OPEN = ReservationState.OPEN


class BureauContactState:
    """Queries and writes on the bureau's contact tables, inside the caller's session."""

    # --- idempotency -------------------------------------------------------------------

    def prior_answer(self, session: Session, requester: str, idempotency_key: bytes) -> PriorAnswer | None:
        """The answer given before to ``(requester, idempotency_key)``, if any."""
        row = session.get(ContactRequestRecord, (requester, idempotency_key))
        if row is None:
            return None
        return PriorAnswer(
            row.request_digest,
            row.decision,
            row.reservation_id,
            row.expires_at,
            row.retry_after,
            row.tag_key_epoch,
        )

    def save_answer(
        self,
        session: Session,
        *,
        requester: str,
        idempotency_key: bytes,
        day: dt.date,
        digest: bytes,
        answer: PriorAnswer,
        at: dt.datetime,
    ) -> None:
        """Remember the answer to an idempotency key (replayed on a retry)."""
        session.add(
            ContactRequestRecord(
                requester_member_id=requester,
                idempotency_key=idempotency_key,
                local_day=day,
                request_digest=digest,
                decision=answer.decision,
                reservation_id=answer.reservation_id,
                expires_at=answer.expires_at,
                retry_after=answer.retry_after,
                tag_key_epoch=answer.tag_key_epoch,
                created_at=at,
            )
        )

    def count_decision(self, session: Session, day: dt.date, decision: ClearanceDecision) -> None:
        """Add one to the day's count of ``decision`` (kept without any tag)."""
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = insert(ContactDecisionCount).values(local_day=day, decision=decision, count=1)
        session.execute(
            statement.on_conflict_do_update(
                index_elements=["local_day", "decision"],
                set_={"count": ContactDecisionCount.count + 1},
            )
        )

    def decision_counts(self, session: Session, day: dt.date) -> dict[ClearanceDecision, int]:
        """How many clearances each rule decided on ``day``."""
        query = sa.select(ContactDecisionCount.decision, ContactDecisionCount.count).where(
            ContactDecisionCount.local_day == day
        )
        return {decision: count for decision, count in session.execute(query)}

    # --- epochs and locks ----------------------------------------------------------------

    def pinned_epoch(self, session: Session, day: dt.date, *, offered: int, at: dt.datetime) -> int:
        """The epoch ``day``'s counters are keyed under, pinning ``offered`` if none is yet."""
        row = session.get(ContactDayEpoch, day)
        if row is None:
            session.add(ContactDayEpoch(local_day=day, tag_key_epoch=offered, pinned_at=at))
            session.flush()
            return offered
        return row.tag_key_epoch

    def lock_counters(self, session: Session, keys: Iterable[bytes]) -> None:
        """PostgreSQL: lock the counters a decision reads until the transaction ends.

        Keys are locked in sorted order so that two decisions never wait on each other in a
        cycle. On SQLite the transaction already holds the database's write lock.
        """
        if session.get_bind().dialect.name != "postgresql":
            return
        for key in sorted(set(keys)):
            number = int.from_bytes(hashlib.sha256(key).digest()[:8], "big", signed=True)
            session.execute(sa.select(sa.func.pg_advisory_xact_lock(number)))

    # --- counters ----------------------------------------------------------------------

    def calls_in_use(
        self, session: Session, day: dt.date, scope: str, debtor_tag: bytes, now: dt.datetime
    ) -> int:
        """Connected calls about the debtor, plus open unexpired call slots (either may connect)."""
        query = sa.select(sa.func.count()).where(
            ContactReservation.local_day == day,
            ContactReservation.scope_lender == scope,
            ContactReservation.debtor_tag == debtor_tag,
            ContactReservation.counts_call.is_(True),
            sa.or_(
                ContactReservation.state == ReservationState.CONNECTED,
                sa.and_(ContactReservation.state == _OPEN, ContactReservation.expires_at > now),
            ),
        )
        return int(session.scalar(query) or 0)

    def unanswered_in_use(
        self, session: Session, day: dt.date, scope: str, number_tag: bytes, now: dt.datetime
    ) -> int:
        """Unanswered call attempts on the number, plus open unexpired call slots on it."""
        query = sa.select(sa.func.count()).where(
            ContactReservation.local_day == day,
            ContactReservation.scope_lender == scope,
            ContactReservation.number_tag == number_tag,
            ContactReservation.counts_call.is_(True),
            sa.or_(
                ContactReservation.state == ReservationState.UNANSWERED,
                sa.and_(ContactReservation.state == _OPEN, ContactReservation.expires_at > now),
            ),
        )
        return int(session.scalar(query) or 0)

    def debtor_reach(self, session: Session, day: dt.date, scope: str, debtor_tag: bytes) -> tuple[int, int]:
        """``(connected, unanswered)`` settled call attempts on the debtor's own numbers today."""
        query = (
            sa.select(ContactReservation.state, sa.func.count())
            .where(
                ContactReservation.local_day == day,
                ContactReservation.scope_lender == scope,
                ContactReservation.debtor_tag == debtor_tag,
                ContactReservation.party == ContactParty.DEBTOR,
                ContactReservation.counts_call.is_(True),
                ContactReservation.state.in_([ReservationState.CONNECTED, ReservationState.UNANSWERED]),
            )
            .group_by(ContactReservation.state)
        )
        counts = {state: int(count) for state, count in session.execute(query)}
        return counts.get(ReservationState.CONNECTED, 0), counts.get(ReservationState.UNANSWERED, 0)

    def earliest_open_expiry(
        self,
        session: Session,
        day: dt.date,
        scope: str,
        *,
        debtor_tag: bytes | None,
        number_tag: bytes | None,
        now: dt.datetime,
    ) -> dt.datetime | None:
        """When the first open call slot on the debtor (or the number) expires."""
        tag_column, tag = (
            (ContactReservation.debtor_tag, debtor_tag)
            if debtor_tag is not None
            else (ContactReservation.number_tag, number_tag)
        )
        query = sa.select(sa.func.min(ContactReservation.expires_at)).where(
            ContactReservation.local_day == day,
            ContactReservation.scope_lender == scope,
            tag_column == tag,
            ContactReservation.counts_call.is_(True),
            ContactReservation.state == _OPEN,
            ContactReservation.expires_at > now,
        )
        value = session.scalar(query)
        if isinstance(value, dt.datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)  # sqlite returns aggregate timestamps naive
        return value if isinstance(value, dt.datetime) else None

    # --- reservations --------------------------------------------------------------------

    def add_reservation(
        self,
        session: Session,
        *,
        reservation_id: bytes,
        day: dt.date,
        requester: str,
        scope: str,
        debtor_tag: bytes,
        number_tag: bytes | None,
        channel: ContactChannel,
        party: ContactParty,
        counts_call: bool,
        granted_at: dt.datetime,
        expires_at: dt.datetime,
    ) -> None:
        """Reserve a slot."""
        session.add(
            ContactReservation(
                reservation_id=reservation_id,
                local_day=day,
                requester_member_id=requester,
                scope_lender=scope,
                debtor_tag=debtor_tag,
                number_tag=number_tag,
                channel=channel,
                party=party,
                counts_call=counts_call,
                state=_OPEN,
                granted_at=granted_at,
                expires_at=expires_at,
                settled_at=None,
                late=False,
            )
        )

    def reservation(self, session: Session, reservation_id: bytes) -> ReservationRow | None:
        """A reservation by id."""
        row = session.get(ContactReservation, reservation_id)
        if row is None:
            return None
        return ReservationRow(
            row.reservation_id,
            row.requester_member_id,
            row.channel,
            row.counts_call,
            row.state,
            row.expires_at,
        )

    def settle(
        self, session: Session, reservation_id: bytes, state: ReservationState, *, at: dt.datetime, late: bool
    ) -> bool:
        """Settle an open reservation; False when it was no longer open (a concurrent settle)."""
        result = session.execute(
            sa.update(ContactReservation)
            .where(ContactReservation.reservation_id == reservation_id, ContactReservation.state == _OPEN)
            .values(state=state, settled_at=at, late=late)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]  # CursorResult at run time

    # --- flags ------------------------------------------------------------------------

    def flags_on(self, session: Session, day: dt.date, tags: Sequence[bytes]) -> list[FlagRow]:
        """Flags standing on ``day`` against any of ``tags``."""
        query = sa.select(
            ContactFlagTagRecord.tag,
            ContactFlagTagRecord.kind,
            ContactFlagTagRecord.scope_lender,
            ContactFlagTagRecord.agency_member_id,
        ).where(ContactFlagTagRecord.local_day == day, ContactFlagTagRecord.tag.in_(list(tags)))
        return [FlagRow(*row) for row in session.execute(query)]

    def replace_flags(
        self,
        session: Session,
        *,
        day: dt.date,
        publisher: str,
        epoch: int,
        flags: Sequence[FlagRow],
        at: dt.datetime,
    ) -> None:
        """Replace everything ``publisher`` published for ``day`` with ``flags``."""
        session.execute(
            sa.delete(ContactFlagTagRecord).where(
                ContactFlagTagRecord.local_day == day, ContactFlagTagRecord.publisher_member_id == publisher
            )
        )
        if flags:
            session.execute(
                sa.insert(ContactFlagTagRecord),
                [
                    {
                        "local_day": day,
                        "publisher_member_id": publisher,
                        "tag": flag.tag,
                        "kind": flag.kind,
                        "scope_lender": flag.scope_lender,
                        "agency_member_id": flag.agency_member_id,
                    }
                    for flag in flags
                ],
            )
        batch = session.get(ContactFlagBatch, (day, publisher))
        if batch is None:
            session.add(
                ContactFlagBatch(
                    local_day=day,
                    publisher_member_id=publisher,
                    tag_key_epoch=epoch,
                    flags=len(flags),
                    published_at=at,
                )
            )
        else:
            batch.tag_key_epoch, batch.flags, batch.published_at = epoch, len(flags), at

    def publishers(self, session: Session, day: dt.date) -> set[str]:
        """Members that published their flags for ``day``."""
        query = sa.select(ContactFlagBatch.publisher_member_id).where(ContactFlagBatch.local_day == day)
        return set(session.scalars(query))

    # --- retention -------------------------------------------------------------------------

    def purge_before(self, session: Session, day: dt.date) -> int:
        """Delete every tag-bearing row of a day before ``day``; return how many went."""
        removed = 0
        for model in (
            ContactReservation,
            ContactRequestRecord,
            ContactFlagTagRecord,
            ContactFlagBatch,
            ContactDayEpoch,
        ):
            column = model.__table__.c.local_day
            result = session.execute(sa.delete(model).where(column < day))
            removed += int(result.rowcount)  # type: ignore[attr-defined]  # CursorResult at run time
        return removed

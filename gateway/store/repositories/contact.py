"""The bureau's contact-clearance state: reservations, request records, flag tags, day epochs.

Every method takes the caller's open session, so that the desk reads the counters, decides
and writes its reservation in one transaction (``gateway.contact.desk``). On SQLite that
transaction holds the write lock from its first statement (``BEGIN IMMEDIATE``, see
``gateway/store/engine.py``), so two clearances of the last slot are serialised. On
PostgreSQL :meth:`BureauContactState.lock_counters` takes transaction-scoped advisory locks
on the counters a decision reads, in a fixed order, for the same effect.

Hot path (several statements per clearance): prebuilt Core statements with bound
parameters, compiled once, no ORM unit of work.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
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


_R = ContactReservation
_Q = ContactRequestRecord
_OPEN = ReservationState.OPEN
_b = sa.bindparam

_PRIOR = sa.select(
    _Q.request_digest, _Q.decision, _Q.reservation_id, _Q.expires_at, _Q.retry_after, _Q.tag_key_epoch
).where(_Q.requester_member_id == _b("requester"), _Q.idempotency_key == _b("key"))
_INSERT_REQUEST = sa.insert(_Q)
_INSERT_RESERVATION = sa.insert(_R)
_SAME_COUNTER = (_R.local_day == _b("day"), _R.scope_lender == _b("scope"), _R.counts_call.is_(True))
_OPEN_UNEXPIRED = sa.and_(_R.state == _OPEN, _R.expires_at > _b("now"))
_CALLS_IN_USE = sa.select(sa.func.count()).where(
    *_SAME_COUNTER,
    _R.debtor_tag == _b("tag"),
    sa.or_(_R.state == ReservationState.CONNECTED, _OPEN_UNEXPIRED),
)
_UNANSWERED_IN_USE = sa.select(sa.func.count()).where(
    *_SAME_COUNTER,
    _R.number_tag == _b("tag"),
    sa.or_(_R.state == ReservationState.UNANSWERED, _OPEN_UNEXPIRED),
)
_DEBTOR_REACH = (
    sa.select(_R.state, sa.func.count())
    .where(
        *_SAME_COUNTER,
        _R.debtor_tag == _b("tag"),
        _R.party == ContactParty.DEBTOR,
        _R.state.in_([ReservationState.CONNECTED, ReservationState.UNANSWERED]),
    )
    .group_by(_R.state)
)
_EARLIEST_ON_DEBTOR = (
    sa.select(_R.expires_at)
    .where(*_SAME_COUNTER, _R.debtor_tag == _b("tag"), _OPEN_UNEXPIRED)
    .order_by(_R.expires_at)
    .limit(1)
)
_EARLIEST_ON_NUMBER = (
    sa.select(_R.expires_at)
    .where(*_SAME_COUNTER, _R.number_tag == _b("tag"), _OPEN_UNEXPIRED)
    .order_by(_R.expires_at)
    .limit(1)
)
_RESERVATION = sa.select(
    _R.reservation_id, _R.requester_member_id, _R.channel, _R.counts_call, _R.state, _R.expires_at
).where(_R.reservation_id == _b("id"))
_SETTLE = (
    sa.update(_R)
    .where(_R.reservation_id == _b("id"), _R.state == _OPEN)
    .values(state=_b("state"), settled_at=_b("at"), late=_b("late"))
)
_DAY_FLAGS = sa.select(
    ContactFlagTagRecord.tag,
    ContactFlagTagRecord.kind,
    ContactFlagTagRecord.scope_lender,
    ContactFlagTagRecord.agency_member_id,
).where(ContactFlagTagRecord.local_day == _b("day"))
_PUBLISHERS = sa.select(ContactFlagBatch.publisher_member_id).where(ContactFlagBatch.local_day == _b("day"))
_DECISIONS = sa.select(_Q.decision, sa.func.count()).where(_Q.local_day == _b("day")).group_by(_Q.decision)


class BureauContactState:
    """Queries and writes on the bureau's contact tables, inside the caller's session."""

    # --- idempotency -------------------------------------------------------------------

    def prior_answer(self, session: Session, requester: str, idempotency_key: bytes) -> PriorAnswer | None:
        """The answer given before to ``(requester, idempotency_key)``, if any."""
        row = session.execute(_PRIOR, {"requester": requester, "key": idempotency_key}).first()
        return None if row is None else PriorAnswer(*row)

    def save_answer(
        self,
        session: Session,
        *,
        requester: str,
        idempotency_key: bytes,
        day: dt.date,
        answer: PriorAnswer,
        at: dt.datetime,
    ) -> None:
        """Remember the answer to an idempotency key (replayed on a retry)."""
        session.execute(
            _INSERT_REQUEST,
            {
                "requester_member_id": requester,
                "idempotency_key": idempotency_key,
                "local_day": day,
                "request_digest": answer.request_digest,
                "decision": answer.decision,
                "reservation_id": answer.reservation_id,
                "expires_at": answer.expires_at,
                "retry_after": answer.retry_after,
                "tag_key_epoch": answer.tag_key_epoch,
                "created_at": at,
            },
        )

    def decision_counts(self, session: Session, day: dt.date) -> Counter[ClearanceDecision]:
        """How many clearances each rule decided on ``day`` (while the day is retained)."""
        return Counter(
            {decision: int(count) for decision, count in session.execute(_DECISIONS, {"day": day})}
        )

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
        return int(
            session.scalar(_CALLS_IN_USE, {"day": day, "scope": scope, "tag": debtor_tag, "now": now}) or 0
        )

    def unanswered_in_use(
        self, session: Session, day: dt.date, scope: str, number_tag: bytes, now: dt.datetime
    ) -> int:
        """Unanswered call attempts on the number, plus open unexpired call slots on it."""
        parameters = {"day": day, "scope": scope, "tag": number_tag, "now": now}
        return int(session.scalar(_UNANSWERED_IN_USE, parameters) or 0)

    def debtor_reach(self, session: Session, day: dt.date, scope: str, debtor_tag: bytes) -> tuple[int, int]:
        """``(connected, unanswered)`` settled call attempts on the debtor's own numbers today."""
        rows = session.execute(_DEBTOR_REACH, {"day": day, "scope": scope, "tag": debtor_tag})
        counts = {state: int(count) for state, count in rows}
        return counts.get(ReservationState.CONNECTED, 0), counts.get(ReservationState.UNANSWERED, 0)

    def earliest_open_expiry(
        self, session: Session, day: dt.date, scope: str, *, tag: bytes, on_number: bool, now: dt.datetime
    ) -> dt.datetime | None:
        """When the first open call slot on the debtor (or the number) expires."""
        statement = _EARLIEST_ON_NUMBER if on_number else _EARLIEST_ON_DEBTOR
        value = session.scalar(statement, {"day": day, "scope": scope, "tag": tag, "now": now})
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
        session.execute(
            _INSERT_RESERVATION,
            {
                "reservation_id": reservation_id,
                "local_day": day,
                "requester_member_id": requester,
                "scope_lender": scope,
                "debtor_tag": debtor_tag,
                "number_tag": number_tag,
                "channel": channel,
                "party": party,
                "counts_call": counts_call,
                "state": _OPEN,
                "granted_at": granted_at,
                "expires_at": expires_at,
                "settled_at": None,
                "late": False,
            },
        )

    def reservation(self, session: Session, reservation_id: bytes) -> ReservationRow | None:
        """A reservation by id."""
        row = session.execute(_RESERVATION, {"id": reservation_id}).first()
        return None if row is None else ReservationRow(*row)

    def settle(
        self, session: Session, reservation_id: bytes, state: ReservationState, *, at: dt.datetime, late: bool
    ) -> bool:
        """Settle an open reservation; False when it was no longer open (a concurrent settle)."""
        result = session.execute(_SETTLE, {"id": reservation_id, "state": state, "at": at, "late": late})
        return bool(result.rowcount)  # type: ignore[attr-defined]  # CursorResult at run time

    # --- flags ------------------------------------------------------------------------

    def day_flags(self, session: Session, day: dt.date) -> list[FlagRow]:
        """Every flag tag standing on ``day``."""
        return [FlagRow(*row) for row in session.execute(_DAY_FLAGS, {"day": day})]

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
        return set(session.scalars(_PUBLISHERS, {"day": day}))

    # --- retention -------------------------------------------------------------------------

    def purge_before(self, session: Session, day: dt.date) -> int:
        """Delete every tag-bearing row of a day before ``day``; return how many went."""
        removed = 0
        for model in (_R, _Q, ContactFlagTagRecord, ContactFlagBatch, ContactDayEpoch):
            column = model.__table__.c.local_day
            result = session.execute(sa.delete(model).where(column < day))
            removed += int(result.rowcount)  # type: ignore[attr-defined]  # CursorResult at run time
        return removed

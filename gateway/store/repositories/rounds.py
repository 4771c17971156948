"""A responder's durable per-request state for the subject check (issue #11).

The contract (every method runs in one transaction; SQLite serialises writers, PostgreSQL
holds the request's rows under ``SELECT … FOR UPDATE``):

* a request is answered at most once per attempt;
* attempts strictly increase and never exceed the policy's maximum;
* each later answering set is a strict subset of the one answered before;
* once an attempt is finalized (its self-mask seed revealed) no later attempt is answered,
  and only the highest attempt answered may be finalized.

Anything else raises :class:`~gateway.errors.ProtocolRefused`; the caller audits it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from contextlib import AbstractContextManager

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gateway.errors import ProtocolRefused
from gateway.store.database import Store
from gateway.store.enums import RoundState
from gateway.store.models import ResponderRound
from gateway.store.models.base import table_of


class ResponderState:
    """Repository over ``responder_rounds``."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def begin(
        self,
        request_hash: bytes,
        attempt: int,
        participants: Sequence[str],
        answering_set_hash: bytes,
        *,
        max_attempts: int,
        at: dt.datetime,
    ) -> None:
        """Record that this member answers ``attempt`` of the request over ``participants``.

        Raises
        ------
        ProtocolRefused
            Naming the rule the request breaks.

        """
        if not 1 <= attempt <= max_attempts:
            raise ProtocolRefused(
                f"attempt {attempt} is outside 1..{max_attempts}", reason="attempt_out_of_range"
            )
        with self._store.connection() as connection:
            earlier = self._rows(connection, request_hash)
            if earlier:
                last = earlier[-1]
                if any(row.state is RoundState.FINALIZED for row in earlier):
                    raise ProtocolRefused(
                        "an attempt of this request was already finalized", reason="finalized"
                    )
                if attempt <= last.attempt:
                    raise ProtocolRefused(
                        f"attempt {attempt} after attempt {last.attempt} was answered",
                        reason="attempt_replayed",
                    )
                before = set(last.participants.split(","))
                if not set(participants) < before:
                    raise ProtocolRefused(
                        "the answering set of a re-run must be a strict subset of the earlier one",
                        reason="answering_set_not_shrinking",
                    )
            connection.execute(
                _INSERT,
                {
                    "request_hash": request_hash,
                    "attempt": attempt,
                    "answering_set_hash": answering_set_hash,
                    "participants": ",".join(participants),
                    "state": RoundState.ANSWERED,
                    "answered_at": at,
                },
            )

    def finalize(self, request_hash: bytes, attempt: int, answering_set_hash: bytes) -> None:
        """Mark ``attempt`` finalized (idempotent for the same attempt and set).

        Raises
        ------
        ProtocolRefused
            When the attempt was not answered over that set, is not the highest answered,
            or another attempt was finalized.

        """
        with self._store.connection() as connection:
            rows = self._rows(connection, request_hash)
            row = next((r for r in rows if r.attempt == attempt), None)
            if row is None or row.answering_set_hash != answering_set_hash:
                raise ProtocolRefused("this attempt was not answered over that set", reason="not_answered")
            if row.state is RoundState.FINALIZED:
                return
            if any(r.state is RoundState.FINALIZED for r in rows) or rows[-1].attempt != attempt:
                raise ProtocolRefused(
                    "only the highest attempt answered may be finalized, once", reason="finalize_refused"
                )
            connection.execute(_FINALIZE, {"of_request": request_hash, "of_attempt": attempt})

    def purge(self, before: dt.datetime) -> int:
        """Forget rounds answered before ``before`` (their requests are no longer fresh)."""
        with self._store.connection() as connection:
            result = connection.execute(sa.delete(_TABLE).where(_TABLE.c.answered_at < before))
            return int(getattr(result, "rowcount", 0) or 0)

    def transaction(self) -> AbstractContextManager[Connection]:
        """A transaction that :meth:`begin` joins: what the caller writes in it commits with the round."""
        return self._store.connection()

    @staticmethod
    def _rows(
        connection: Connection, request_hash: bytes
    ) -> list[sa.Row[tuple[int, bytes, str, RoundState]]]:
        return list(connection.execute(_ROWS, {"request_hash": request_hash}))


# Hot path (twice per subject check at every responder): prebuilt Core statements, no ORM unit of work.
_TABLE = table_of(ResponderRound)
_ROWS = (
    sa.select(_TABLE.c.attempt, _TABLE.c.answering_set_hash, _TABLE.c.participants, _TABLE.c.state)
    .where(_TABLE.c.request_hash == sa.bindparam("request_hash"))
    .order_by(_TABLE.c.attempt)
    .with_for_update()
)
_INSERT = sa.insert(_TABLE)
_FINALIZE = (
    sa.update(_TABLE)
    .where(
        _TABLE.c.request_hash == sa.bindparam("of_request"), _TABLE.c.attempt == sa.bindparam("of_attempt")
    )
    .values(state=RoundState.FINALIZED)
)

"""Subject-check state: the querier's round seeds and the bureau's masked answer cache."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, fields

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from gateway.queries.subject_check.messages import ContributionProof
from gateway.store.database import Store
from gateway.store.models import Base, CachedCheckRow, CheckRound, CheckRoundInfo
from gateway.store.models.base import table_of

_IN_BATCH = 900


def _insert_new(store: Store, model: type[Base]) -> sa.Insert:
    """An INSERT into the model's table that leaves rows already there (plain Core, no ORM bulk insert)."""
    if store.dialect_name == "postgresql":
        return postgresql.insert(table_of(model)).on_conflict_do_nothing()
    return sqlite.insert(table_of(model)).on_conflict_do_nothing()


class CheckRounds:
    """At the querier: ``request_hash → query_seed`` of every round it started."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def remember(self, request_hash: bytes, query_seed: bytes, *, at: dt.datetime) -> None:
        """Keep the seed of a round (idempotent)."""
        with self._store.transaction() as session:
            session.execute(
                _insert_new(self._store, CheckRound),
                [{"request_hash": request_hash, "query_seed": query_seed, "created_at": at}],
            )

    def seeds(self, request_hashes: Iterable[bytes]) -> dict[bytes, bytes]:
        """Seeds of the given rounds that this node started."""
        hashes = list(set(request_hashes))
        with self._store.transaction() as session:
            query = sa.select(CheckRound.request_hash, CheckRound.query_seed).where(
                CheckRound.request_hash.in_(hashes)
            )
            return {row.request_hash: row.query_seed for row in session.execute(query)}

    def purge_before(self, moment: dt.datetime) -> None:
        """Forget seeds of rounds started before ``moment`` (their cached rows are gone)."""
        with self._store.transaction() as session:
            session.execute(sa.delete(CheckRound).where(CheckRound.created_at < moment))


@dataclass(frozen=True)
class CachedRow:
    """A masked row the bureau already answered, with the round it came from."""

    dedup_tag: bytes
    masked_row: bytes
    row_index: int
    round_rows: int
    request_hash: bytes
    attempt: int
    members_asked: int
    members_answered: int
    participants: int
    segment_map: str


_CACHE_TABLE = table_of(CachedCheckRow)
_CACHED_ROW_COLUMNS = [_CACHE_TABLE.c[field.name] for field in fields(CachedRow)]


@dataclass(frozen=True)
class RoundInfo:
    """Who answered a round and their signed digests, kept beside its cached rows."""

    request_hash: bytes
    attempt: int
    local_day: dt.date
    participants: tuple[str, ...]
    proofs: tuple[ContributionProof, ...]


class CheckCache:
    """At the bureau: masked rows per querier, local day and dedup tag, whatever the reason.

    The contract: a tag is stored at most once per querier and day (a concurrent second
    store of the same row is ignored, never an error); rows of earlier days are purged
    by :meth:`purge_before`; :meth:`invalidate` removes every row of the given tags.
    """

    def __init__(self, store: Store) -> None:
        self._store = store

    def transaction(self) -> AbstractContextManager[object]:
        """A transaction that :meth:`store` joins: what the caller writes in it commits with the rows."""
        return self._store.connection()

    def lookup(self, querier: str, day: dt.date, tags: Sequence[bytes]) -> dict[bytes, CachedRow]:
        """Cached rows for any of ``tags``."""
        found: dict[bytes, CachedRow] = {}
        with self._store.connection() as connection:
            for start in range(0, len(tags), _IN_BATCH):
                query = sa.select(*_CACHED_ROW_COLUMNS).where(
                    _CACHE_TABLE.c.querier_member_id == querier,
                    _CACHE_TABLE.c.local_day == day,
                    _CACHE_TABLE.c.dedup_tag.in_(tags[start : start + _IN_BATCH]),
                )
                for row in connection.execute(query):
                    found[row.dedup_tag] = CachedRow(*row)
        return found

    def store(
        self, querier: str, day: dt.date, rows: Iterable[CachedRow], info: RoundInfo, *, at: dt.datetime
    ) -> None:
        """Remember freshly answered rows and their round (rows already cached are kept)."""
        values = [
            {
                "querier_member_id": querier,
                "local_day": day,
                "dedup_tag": row.dedup_tag,
                "masked_row": row.masked_row,
                "row_index": row.row_index,
                "round_rows": row.round_rows,
                "request_hash": row.request_hash,
                "attempt": row.attempt,
                "members_asked": row.members_asked,
                "members_answered": row.members_answered,
                "participants": row.participants,
                "segment_map": row.segment_map,
                "created_at": at,
            }
            for row in rows
        ]
        if not values:
            return
        proofs = json.dumps([[p.member_id, p.digest.hex(), p.signature.hex()] for p in info.proofs])
        with self._store.connection() as connection:
            connection.execute(_insert_new(self._store, CachedCheckRow), values)
            connection.execute(
                _insert_new(self._store, CheckRoundInfo),
                [
                    {
                        "request_hash": info.request_hash,
                        "attempt": info.attempt,
                        "local_day": info.local_day,
                        "participants": ",".join(info.participants),
                        "proofs": proofs,
                        "created_at": at,
                    }
                ],
            )

    def round_infos(self, request_hashes: Iterable[bytes]) -> dict[bytes, RoundInfo]:
        """The stored rounds among ``request_hashes``."""
        hashes = list(request_hashes)
        if not hashes:
            return {}
        with self._store.transaction() as session:
            rows = session.scalars(sa.select(CheckRoundInfo).where(CheckRoundInfo.request_hash.in_(hashes)))
            return {
                row.request_hash: RoundInfo(
                    row.request_hash,
                    row.attempt,
                    row.local_day,
                    tuple(row.participants.split(",")),
                    tuple(
                        ContributionProof(m, bytes.fromhex(d), bytes.fromhex(s))
                        for m, d, s in json.loads(row.proofs)
                    ),
                )
                for row in rows
            }

    def purge_before(self, day: dt.date) -> int:
        """Forget every row of a day before ``day``: caches expire with their day."""
        with self._store.transaction() as session:
            removed = session.execute(sa.delete(CachedCheckRow).where(CachedCheckRow.local_day < day))
            session.execute(sa.delete(CheckRoundInfo).where(CheckRoundInfo.local_day < day))
            return int(getattr(removed, "rowcount", 0) or 0)

    def invalidate(self, tags: Sequence[bytes]) -> int:
        """Forget every cached row of ``tags``, for every querier (an appeal was upheld)."""
        removed = 0
        with self._store.transaction() as session:
            for start in range(0, len(tags), _IN_BATCH):
                result = session.execute(
                    sa.delete(CachedCheckRow).where(
                        CachedCheckRow.dedup_tag.in_(tags[start : start + _IN_BATCH])
                    )
                )
                removed += int(getattr(result, "rowcount", 0) or 0)
        return removed

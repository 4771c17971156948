"""Subject-check state: the querier's round seeds and the bureau's masked answer cache."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from gateway.store.database import Store
from gateway.store.enums import ReasonCode
from gateway.store.models import CachedCheckRow, CheckRound

_IN_BATCH = 900


class CheckRounds:
    """At the querier: ``request_hash → query_seed`` of every round it started."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def remember(self, request_hash: bytes, query_seed: bytes, *, at: dt.datetime) -> None:
        """Keep the seed of a round (idempotent)."""
        with self._store.transaction() as session:
            if session.get(CheckRound, request_hash) is None:
                session.add(CheckRound(request_hash=request_hash, query_seed=query_seed, created_at=at))

    def seeds(self, request_hashes: Iterable[bytes]) -> dict[bytes, bytes]:
        """Seeds of the given rounds that this node started."""
        hashes = list(set(request_hashes))
        with self._store.transaction() as session:
            query = sa.select(CheckRound.request_hash, CheckRound.query_seed).where(
                CheckRound.request_hash.in_(hashes)
            )
            return {row.request_hash: row.query_seed for row in session.execute(query)}


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


class CheckCache:
    """At the bureau: masked rows per querier, reason, local day and dedup tag."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def lookup(
        self, querier: str, reason: ReasonCode, day: dt.date, tags: Sequence[bytes]
    ) -> dict[bytes, CachedRow]:
        """Cached rows for any of ``tags``."""
        found: dict[bytes, CachedRow] = {}
        with self._store.transaction() as session:
            for start in range(0, len(tags), _IN_BATCH):
                query = sa.select(CachedCheckRow).where(
                    CachedCheckRow.querier_member_id == querier,
                    CachedCheckRow.reason == reason,
                    CachedCheckRow.local_day == day,
                    CachedCheckRow.dedup_tag.in_(tags[start : start + _IN_BATCH]),
                )
                for row in session.scalars(query):
                    found[row.dedup_tag] = CachedRow(
                        row.dedup_tag,
                        row.masked_row,
                        row.row_index,
                        row.round_rows,
                        row.request_hash,
                        row.attempt,
                        row.members_asked,
                        row.members_answered,
                        row.participants,
                        row.segment_map,
                    )
        return found

    def store(
        self, querier: str, reason: ReasonCode, day: dt.date, rows: Iterable[CachedRow], *, at: dt.datetime
    ) -> None:
        """Remember freshly answered rows."""
        values = [
            {
                "querier_member_id": querier,
                "reason": reason,
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
        if values:
            with self._store.transaction() as session:
                session.execute(sa.insert(CachedCheckRow), values)

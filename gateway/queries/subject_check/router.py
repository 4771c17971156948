"""The bureau's side of a subject check: decide, route, sum, cache — never open.

For each chunk the bureau (1) asks the policies whether the querier's role may
check for this reason (and whether it contributes, where reciprocity is on),
(2) charges the querier's rate limit, (3) answers rows it already answered
today for the same querier, reason and subject from its cache, (4) otherwise
fans the sealed tokens out to every online member the querier sealed to —
the querier's own node included, which takes part with a zero row — and sums
the masked rows. A member missing the deadline is dropped and the round re-run
over the survivors with fresh masks, at most ``max_attempts`` times and never
with fewer than ``min_answering_members`` members besides the querier.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from gateway.aggregation import answering_set_hash, sum_contributions
from gateway.aggregation.field import Residues
from gateway.audit import AuditEvent, AuditRecorder, Outcome
from gateway.bureau import MemberView
from gateway.bureau.rate_limit import RateLimiter
from gateway.errors import GatewayError, InvalidInputError
from gateway.identity.peer import Peer
from gateway.policy import PolicyDecisionPoint
from gateway.queries.subject_check.layout import AnswerSegment
from gateway.queries.subject_check.messages import (
    CheckChunk,
    ChunkResult,
    Coverage,
    RoundReference,
    RoundRequest,
    SealedFor,
)
from gateway.queries.subject_check.segments import format_segment_map, merge_segments, parse_segment_map
from gateway.queries.subject_check.settings import SubjectCheckSettings
from gateway.roles import Role
from gateway.store.repositories.checks import CachedRow, CheckCache

QUERY_ACTION = "subject_check.query"
RESPONDER_ROLES = frozenset({Role.BANK, Role.CONSUMER_FINANCE, Role.MICRO_LENDER, Role.AGENCY})
_LOG = logging.getLogger(__name__)


class MemberCaller(Protocol):
    """Calls one member's ``ComputeSubjectVectors``; raises ``UnavailableError`` on failure or timeout."""

    def compute(self, member: MemberView, request: RoundRequest, *, timeout: float) -> Residues:
        """The member's masked rows for ``request``."""


class Directory(Protocol):
    """The bureau's member list with liveness."""

    def members(self) -> Sequence[MemberView]:
        """Every registered member, with liveness and blacklist contributions."""


@dataclass(frozen=True)
class RouterSettings:
    """What the router needs besides the policy file."""

    liveness_window: dt.timedelta
    max_workers: int = 16


class SubjectCheckRouter:
    """Runs subject-check chunks at the bureau."""

    def __init__(
        self,
        *,
        directory: Directory,
        caller: MemberCaller,
        cache: CheckCache,
        limiter: RateLimiter,
        policy: PolicyDecisionPoint,
        audit: AuditRecorder,
        settings: SubjectCheckSettings,
        router: RouterSettings,
        clock: Callable[[], dt.datetime],
    ) -> None:
        self._directory = directory
        self._caller = caller
        self._cache = cache
        self._limiter = limiter
        self._policy = policy
        self._audit = audit
        self._settings = settings
        self._router = router
        self._clock = clock
        self._pool = ThreadPoolExecutor(max_workers=router.max_workers, thread_name_prefix="fan-out")

    def check(self, querier: Peer, chunk: CheckChunk, *, correlation_id: str) -> ChunkResult:
        """Answer one chunk for ``querier``.

        Raises
        ------
        PolicyDenied
            When the role may not use the reason, or reciprocity is required and unmet.
        RateLimited
            When the querier's limits would be exceeded; nothing is answered.
        InvalidInputError
            When the chunk is malformed (names the field).

        """
        members = self._directory.members()
        self._authorize(querier, chunk, members)
        self._validate(querier, chunk)
        now = self._clock()
        self._limiter.charge(querier.member_id, chunk.subject_count, now=now)
        day = now.astimezone(self._settings.zone).date()
        cached = self._cache.lookup(querier.member_id, chunk.reason, day, list(set(chunk.dedup_tags)))
        if len(cached) == len(set(chunk.dedup_tags)):
            result = _from_cache(chunk, cached)
        else:
            result = self._run(querier, chunk, members, now)
            if result.complete:
                self._remember(querier, chunk, result, day, now, skip=set(cached))
                result = _with_cached_rows(chunk, result, cached)
        self._audit.record(
            AuditEvent.for_peer(
                querier,
                action=QUERY_ACTION,
                outcome=Outcome.ALLOW if result.complete else Outcome.ERROR,
                reason=chunk.reason.value,
                correlation_id=correlation_id,
                details={
                    "subjects": chunk.subject_count,
                    "chunk": chunk.chunk_index,
                    "consent_digest": chunk.consent_digest.hex(),
                    "members_answered": result.coverage.members_answered,
                    "attempts": result.coverage.attempts,
                    "cached_rows": len(cached),
                },
            )
        )
        return result

    def _authorize(self, querier: Peer, chunk: CheckChunk, members: Sequence[MemberView]) -> None:
        listings = next((m.blacklist_listings for m in members if m.member_id == querier.member_id), 0)
        context = {
            "reason": chunk.reason.value,
            "reciprocity_required": self._settings.reciprocity.required,
            "contributes": listings > 0,
        }
        self._policy.authorize(querier, QUERY_ACTION, context)

    def _validate(self, querier: Peer, chunk: CheckChunk) -> None:
        limit = self._settings.aggregation.max_subjects_per_chunk
        if not 1 <= chunk.subject_count <= limit:
            raise InvalidInputError(
                f"expected 1 to {limit} subjects, received {chunk.subject_count}", field="subject_count"
            )
        if len(chunk.dedup_tags) != chunk.subject_count or any(len(tag) != 32 for tag in chunk.dedup_tags):
            raise InvalidInputError("expected one 32-byte tag per subject", field="dedup_tags")
        recipients = [sealed.recipient for sealed in chunk.sealed]
        if len(set(recipients)) != len(recipients):
            raise InvalidInputError("a member appears twice", field="sealed")
        if querier.member_id not in recipients:
            raise InvalidInputError("the querier must seal the chunk to its own node too", field="sealed")
        if len(chunk.consent_digest) != 32:
            raise InvalidInputError("expected a 32-byte SHA-256 digest", field="consent_digest")

    def _run(
        self, querier: Peer, chunk: CheckChunk, members: Sequence[MemberView], now: dt.datetime
    ) -> ChunkResult:
        sealed = {s.recipient: s for s in chunk.sealed}
        live = [
            m
            for m in members
            if m.member_id in sealed
            and m.role in RESPONDER_ROLES
            and m.online(now, self._router.liveness_window)
        ]
        asked = len([m for m in live if m.member_id != querier.member_id])
        request_hash = chunk.request_hash()
        for attempt in range(1, self._settings.aggregation.max_attempts + 1):
            others = [m for m in live if m.member_id != querier.member_id]
            coverage = Coverage(asked, len(others), attempt, len(live))
            if len(others) < self._settings.aggregation.min_answering_members:
                return _insufficient(chunk, coverage)
            segment_map = merge_segments(
                Counter(AnswerSegment.of_role(m.role) for m in others),
                minimum=self._settings.aggregation.min_members_per_segment,
            )
            answers, failed = self._fan_out(live, chunk, sealed, request_hash, attempt, segment_map, now)
            if not failed:
                rows = sum_contributions(answers)
                reference = RoundReference(request_hash, attempt, coverage, segment_map, chunk.subject_count)
                count = chunk.subject_count
                return ChunkResult(
                    chunk.chunk_index, True, coverage, rows, (reference,), (0,) * count, tuple(range(count))
                )
            _LOG.warning(
                "round %s attempt %d: %d members missed the deadline",
                request_hash.hex()[:12],
                attempt,
                len(failed),
            )
            live = [m for m in live if m.member_id not in failed]
        others = [m for m in live if m.member_id != querier.member_id]
        return _insufficient(
            chunk, Coverage(asked, len(others), self._settings.aggregation.max_attempts, len(live))
        )

    def _fan_out(
        self,
        live: Sequence[MemberView],
        chunk: CheckChunk,
        sealed: dict[str, SealedFor],
        request_hash: bytes,
        attempt: int,
        segment_map: dict[AnswerSegment, AnswerSegment],
        now: dt.datetime,
    ) -> tuple[list[Residues], set[str]]:
        participants = tuple(sorted(m.member_id for m in live))
        set_hash = answering_set_hash(participants)
        deadline = self._settings.aggregation.member_deadline_seconds
        futures = {
            member.member_id: self._pool.submit(
                self._caller.compute,
                member,
                RoundRequest(
                    query_time=now,
                    layout_version=self._settings.layout_version,
                    attempt=attempt,
                    request_hash=request_hash,
                    answering_set_hash=set_hash,
                    participants=participants,
                    chunk_index=chunk.chunk_index,
                    subject_count=chunk.subject_count,
                    sealed=sealed[member.member_id],
                    idempotency_key=chunk.idempotency_key,
                    dedup_tags=chunk.dedup_tags,
                    segment_map=segment_map,
                ),
                timeout=deadline,
            )
            for member in live
        }
        answers: list[Residues] = []
        failed: set[str] = set()
        for member_id, future in futures.items():
            try:
                answers.append(future.result(timeout=deadline + 1))
            except (GatewayError, TimeoutError) as exc:
                _LOG.warning("member %s did not answer: %s", member_id, exc)
                failed.add(member_id)
        return answers, failed

    def _remember(
        self,
        querier: Peer,
        chunk: CheckChunk,
        result: ChunkResult,
        day: dt.date,
        now: dt.datetime,
        *,
        skip: set[bytes],
    ) -> None:
        reference = result.rounds[0]
        coverage = reference.coverage
        rows = {
            tag: CachedRow(
                tag,
                result.masked_rows[index].astype("<u8").tobytes(),
                index,
                reference.rows,
                reference.request_hash,
                reference.attempt,
                coverage.members_asked,
                coverage.members_answered,
                coverage.participants,
                format_segment_map(reference.segment_map),
            )
            for index, tag in enumerate(chunk.dedup_tags)
            if tag not in skip
        }
        self._cache.store(querier.member_id, chunk.reason, day, rows.values(), at=now)


def _insufficient(chunk: CheckChunk, coverage: Coverage) -> ChunkResult:
    empty = np.zeros((0, 0), dtype=np.uint64)
    return ChunkResult(chunk.chunk_index, False, coverage, empty, (), (), ())


def _reference(row: CachedRow) -> RoundReference:
    coverage = Coverage(row.members_asked, row.members_answered, row.attempt, row.participants)
    return RoundReference(
        row.request_hash, row.attempt, coverage, parse_segment_map(row.segment_map), row.round_rows
    )


def _from_cache(chunk: CheckChunk, cached: dict[bytes, CachedRow]) -> ChunkResult:
    width = len(next(iter(cached.values())).masked_row) // 8
    empty = ChunkResult(
        chunk.chunk_index,
        True,
        _reference(cached[chunk.dedup_tags[0]]).coverage,
        np.zeros((chunk.subject_count, width), dtype=np.uint64),
        (),
        (0,) * chunk.subject_count,
        (0,) * chunk.subject_count,
    )
    return _with_cached_rows(chunk, empty, cached)


def _with_cached_rows(chunk: CheckChunk, fresh: ChunkResult, cached: dict[bytes, CachedRow]) -> ChunkResult:
    """Replace rows by earlier answers for subjects already checked today, noting where each came from."""
    if not cached:
        return fresh
    rounds = list(fresh.rounds)
    index_of = {reference.request_hash: number for number, reference in enumerate(rounds)}
    rows = fresh.masked_rows.copy()
    row_round, row_index = list(fresh.row_round), list(fresh.row_index)
    for index, tag in enumerate(chunk.dedup_tags):
        if tag in cached:
            row = cached[tag]
            if row.request_hash not in index_of:
                index_of[row.request_hash] = len(rounds)
                rounds.append(_reference(row))
            row_round[index], row_index[index] = index_of[row.request_hash], row.row_index
            rows[index] = np.frombuffer(row.masked_row, dtype="<u8")
    return ChunkResult(
        fresh.chunk_index, True, fresh.coverage, rows, tuple(rounds), tuple(row_round), tuple(row_index)
    )

"""The bureau's side of a subject check: decide, route, sum, cache — never open.

For each chunk the bureau (1) asks the policies whether the querier's role may check for
this reason (and whether it contributes, where reciprocity is on), (2) refuses a chunk
not sealed to every active responder (a lender must not leave a member out to isolate
it), (3) charges the querier's rate limit, (4) answers rows it already answered today for
the same querier and subject from its cache, whatever the reason, (5) otherwise fans the
sealed tokens out to every active member — the querier's own node included, which takes
part with a zero row — and (6) once every participant answered, asks each to finalize the
attempt (reveal its self-mask seed) and sums. A member missing the deadline is dropped
and the round re-run over the survivors, at most ``max_attempts`` times and never with
fewer than ``min_answering_members`` members besides the querier.

Concurrent checks of one subject by one querier wait for each other, so the second is
answered from the cache the first filled (issue #17 item 4); every chunk is audited,
whatever its outcome.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol, TypeVar

import numpy as np

from gateway.aggregation import answering_set_hash, self_mask, sum_contributions
from gateway.aggregation.field import sub_into
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
    Contribution,
    ContributionProof,
    Coverage,
    FinalizeRequest,
    RoundReference,
    RoundRequest,
    SealedFor,
)
from gateway.queries.subject_check.segments import format_segment_map, merge_segments, parse_segment_map
from gateway.queries.subject_check.settings import SubjectCheckSettings
from gateway.roles import Role
from gateway.store.repositories.checks import CachedRow, CheckCache, RoundInfo

QUERY_ACTION = "subject_check.query"
RESPONDER_ROLES = frozenset({Role.BANK, Role.CONSUMER_FINANCE, Role.MICRO_LENDER, Role.AGENCY})
_LOG = logging.getLogger(__name__)
T = TypeVar("T")


class MemberCaller(Protocol):
    """Calls one member's subject-check RPCs; raises ``GatewayError`` on failure or timeout."""

    def compute(self, member: MemberView, request: RoundRequest, *, timeout: float) -> Contribution:
        """The member's self-masked rows and signed digest for ``request``."""

    def finalize(self, member: MemberView, request: FinalizeRequest, *, timeout: float) -> bytes:
        """The member's self-mask seed for a finalized attempt."""


class Directory(Protocol):
    """The bureau's member list with liveness."""

    def members(self) -> Sequence[MemberView]:
        """Every registered, unrevoked member, with liveness and blacklist contributions."""


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
        self._inflight_lock = threading.Lock()
        self._inflight: dict[tuple[str, bytes], threading.Event] = {}
        self._purged_day: dt.date | None = None

    def check(self, querier: Peer, chunk: CheckChunk, *, correlation_id: str) -> ChunkResult:
        """Answer one chunk for ``querier``; audited whatever the outcome.

        Raises
        ------
        PolicyDenied
            When the role may not use the reason, or reciprocity is required and unmet.
        RateLimited
            When the querier's limits would be exceeded; nothing is answered.
        InvalidInputError
            When the chunk is malformed or not sealed to every active member (names the field).

        """
        details: dict[str, str | int] = {
            "subjects": chunk.subject_count,
            "chunk": chunk.chunk_index,
            "consent_digest": chunk.consent_digest.hex(),
        }
        try:
            return self._check(querier, chunk, correlation_id, details)
        except GatewayError as exc:
            self._record(querier, chunk, correlation_id, Outcome.DENY, exc.reason, details)
            raise
        except Exception:
            self._record(querier, chunk, correlation_id, Outcome.ERROR, "internal", details)
            raise

    def invalidate(self, member: Peer, tags: Sequence[bytes], *, correlation_id: str) -> int:
        """Forget every cached answer for ``tags`` (an upheld appeal or a correction); audited.

        Raises
        ------
        InvalidInputError
            When a tag is not 32 bytes or there are too many.

        """
        if len(tags) > 64 or any(len(tag) != 32 for tag in tags):
            raise InvalidInputError("expected at most 64 tags of 32 bytes", field="dedup_tags")
        removed = self._cache.invalidate(list(tags))
        self._audit.record(
            AuditEvent.for_peer(
                member,
                action=f"{QUERY_ACTION}.invalidate",
                outcome=Outcome.ALLOW,
                reason="appeal_or_correction",
                correlation_id=correlation_id,
                details={"tags": len(tags), "rows_removed": removed},
            )
        )
        return removed

    def _record(
        self,
        querier: Peer,
        chunk: CheckChunk,
        correlation_id: str,
        outcome: Outcome,
        reason: str,
        details: dict[str, str | int],
    ) -> None:
        self._audit.record(
            AuditEvent.for_peer(
                querier,
                action=QUERY_ACTION,
                outcome=outcome,
                reason=reason if outcome is Outcome.ALLOW else f"{chunk.reason.value}: {reason}",
                correlation_id=correlation_id,
                details=details,
            )
        )

    def _check(
        self, querier: Peer, chunk: CheckChunk, correlation_id: str, details: dict[str, str | int]
    ) -> ChunkResult:
        members = self._directory.members()
        self._authorize(querier, chunk, members)
        now = self._clock()
        live = self._validate(querier, chunk, members, now)
        self._limiter.charge(querier.member_id, chunk.subject_count, now=now)
        day = now.astimezone(self._settings.zone).date()
        self._purge(day)
        consortium = sum(1 for m in members if m.role in RESPONDER_ROLES and m.member_id != querier.member_id)
        tags = list(dict.fromkeys(chunk.dedup_tags))
        with self._claim(querier.member_id, tags):
            cached = self._cache.lookup(querier.member_id, day, tags)
            if len(cached) == len(tags):
                result = _from_cache(chunk, cached, self._cache, consortium)
                self._record_answer(querier, chunk, result, len(cached), correlation_id, details)
                return result
            result = self._run(querier, chunk, live, now, consortium)
            # The rows kept for today's repeats and the entry that audits them commit together.
            with self._cache.transaction():
                if result.complete:
                    self._remember(querier, chunk, result, day, now, skip=set(cached))
                self._record_answer(querier, chunk, result, len(cached), correlation_id, details)
            if not result.complete:
                return result
            return _with_cached_rows(chunk, result, cached, self._cache, consortium)

    def _record_answer(
        self,
        querier: Peer,
        chunk: CheckChunk,
        result: ChunkResult,
        cached: int,
        correlation_id: str,
        details: dict[str, str | int],
    ) -> None:
        details = details | {
            "members_answered": result.coverage.members_answered,
            "attempts": result.coverage.attempts,
            "cached_rows": cached,
        }
        outcome = Outcome.ALLOW if result.complete else Outcome.ERROR
        self._record(querier, chunk, correlation_id, outcome, chunk.reason.value, details)

    @contextmanager
    def _claim(self, querier: str, tags: Sequence[bytes]) -> Iterator[None]:
        """Wait for other in-flight chunks of this querier holding any of ``tags``, then hold them."""
        mine: list[tuple[str, bytes]] = []
        while True:
            with self._inflight_lock:
                busy = [self._inflight[(querier, t)] for t in tags if (querier, t) in self._inflight]
                if not busy:
                    done = threading.Event()
                    mine = [(querier, t) for t in tags]
                    for key in mine:
                        self._inflight[key] = done
                    break
            busy[0].wait(timeout=self._settings.aggregation.member_deadline_seconds * 4 + 10)
        try:
            yield
        finally:
            with self._inflight_lock:
                for key in mine:
                    self._inflight.pop(key, None)
            done.set()

    def _purge(self, day: dt.date) -> None:
        """Caches expire with their day."""
        if self._purged_day != day:
            self._cache.purge_before(day)
            self._purged_day = day

    def _authorize(self, querier: Peer, chunk: CheckChunk, members: Sequence[MemberView]) -> None:
        listings = next((m.blacklist_listings for m in members if m.member_id == querier.member_id), 0)
        context = {
            "reason": chunk.reason.value,
            "reciprocity_required": self._settings.reciprocity.required,
            "contributes": listings > 0,
        }
        self._policy.authorize(querier, QUERY_ACTION, context)

    def _validate(
        self, querier: Peer, chunk: CheckChunk, members: Sequence[MemberView], now: dt.datetime
    ) -> list[MemberView]:
        limit = self._settings.aggregation.max_subjects_per_chunk
        if not 1 <= chunk.subject_count <= limit:
            raise InvalidInputError(
                f"expected 1 to {limit} subjects, received {chunk.subject_count}", field="subject_count"
            )
        if len(chunk.dedup_tags) != chunk.subject_count or any(len(tag) != 32 for tag in chunk.dedup_tags):
            raise InvalidInputError("expected one 32-byte tag per subject", field="dedup_tags")
        if chunk.secret_epoch < 1:
            raise InvalidInputError("expected the members' secret epoch (>= 1)", field="secret_epoch")
        recipients = [sealed.recipient for sealed in chunk.sealed]
        if len(set(recipients)) != len(recipients):
            raise InvalidInputError("a member appears twice", field="sealed")
        if querier.member_id not in recipients:
            raise InvalidInputError("the querier must seal the chunk to its own node too", field="sealed")
        if len(chunk.consent_digest) != 32:
            raise InvalidInputError("expected a 32-byte SHA-256 digest", field="consent_digest")
        live = [
            m
            for m in members
            if m.role in RESPONDER_ROLES
            and m.keys is not None
            and m.online(now, self._router.liveness_window)
        ]
        # A querier choosing whom to ask could leave one member out and difference the answers.
        if any(m.member_id not in recipients for m in live if m.member_id != querier.member_id):
            raise InvalidInputError(
                "the chunk must be sealed to every active member; refresh the directory and retry",
                field="sealed",
                reason="not_sealed_to_every_member",
            )
        if all(m.member_id != querier.member_id for m in live):
            live.append(next(m for m in members if m.member_id == querier.member_id))
        return live

    def _run(
        self, querier: Peer, chunk: CheckChunk, live: Sequence[MemberView], now: dt.datetime, consortium: int
    ) -> ChunkResult:
        sealed = {s.recipient: s for s in chunk.sealed}
        live = list(live)
        asked = len([m for m in live if m.member_id != querier.member_id])
        request_hash = chunk.request_hash()
        attempts = self._settings.aggregation.max_attempts
        for attempt in range(1, attempts + 1):
            others = [m for m in live if m.member_id != querier.member_id]
            coverage = Coverage(asked, len(others), attempt, len(live), consortium)
            if len(others) < self._settings.aggregation.min_answering_members or all(
                m.member_id != querier.member_id for m in live
            ):
                return _insufficient(chunk, coverage)
            segment_map = merge_segments(
                Counter(AnswerSegment.of_role(m.role) for m in others),
                minimum=self._settings.aggregation.min_members_per_segment,
            )
            participants = tuple(sorted(m.member_id for m in live))
            answers, failed = self._fan_out(
                live, chunk, sealed, request_hash, attempt, participants, segment_map, now
            )
            if failed:
                _LOG.warning(
                    "round %s attempt %d: %d members missed the deadline",
                    request_hash.hex()[:12],
                    attempt,
                    len(failed),
                )
                live = [m for m in live if m.member_id not in failed]
                continue
            seeds, failed = self._finalize(live, request_hash, attempt, participants, now)
            if failed:
                # Members that finalized will answer no later attempt: this request cannot
                # be re-run (docs/masked-aggregation.md); the querier sees insufficient coverage.
                _LOG.warning(
                    "round %s attempt %d: %d members did not finalize",
                    request_hash.hex()[:12],
                    attempt,
                    len(failed),
                )
                return _insufficient(
                    chunk, Coverage(asked, len(others) - len(failed), attempt, len(live), consortium)
                )
            rows = sum_contributions([a.rows for a in answers.values()])
            scratch = np.empty_like(rows)
            for seed in seeds.values():
                sub_into(rows, self_mask(seed, rows.shape), scratch=scratch)
            reference = RoundReference(
                request_hash,
                attempt,
                coverage,
                segment_map,
                chunk.subject_count,
                participants,
                tuple(answers[m].proof for m in participants),
            )
            count = chunk.subject_count
            return ChunkResult(
                chunk.chunk_index, True, coverage, rows, (reference,), (0,) * count, tuple(range(count))
            )
        others = [m for m in live if m.member_id != querier.member_id]
        return _insufficient(chunk, Coverage(asked, len(others), attempts, len(live), consortium))

    def _fan_out(
        self,
        live: Sequence[MemberView],
        chunk: CheckChunk,
        sealed: dict[str, SealedFor],
        request_hash: bytes,
        attempt: int,
        participants: tuple[str, ...],
        segment_map: dict[AnswerSegment, AnswerSegment],
        now: dt.datetime,
    ) -> tuple[dict[str, Contribution], set[str]]:
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
                    secret_epoch=chunk.secret_epoch,
                ),
                timeout=deadline,
            )
            for member in live
        }
        return _gather(futures, deadline, "did not answer")

    def _finalize(
        self,
        live: Sequence[MemberView],
        request_hash: bytes,
        attempt: int,
        participants: tuple[str, ...],
        now: dt.datetime,
    ) -> tuple[dict[str, bytes], set[str]]:
        request = FinalizeRequest(now, request_hash, attempt, answering_set_hash(participants))
        deadline = self._settings.aggregation.member_deadline_seconds
        futures = {
            member.member_id: self._pool.submit(self._caller.finalize, member, request, timeout=deadline)
            for member in live
        }
        return _gather(futures, deadline, "did not finalize")

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
        info = RoundInfo(
            reference.request_hash, reference.attempt, day, reference.participants, reference.proofs
        )
        self._cache.store(querier.member_id, day, rows.values(), info, at=now)


def _gather(futures: dict[str, Future[T]], deadline: float, what: str) -> tuple[dict[str, T], set[str]]:
    answers: dict[str, T] = {}
    failed: set[str] = set()
    for member_id, future in futures.items():
        try:
            answers[member_id] = future.result(timeout=deadline + 1)
        except (GatewayError, TimeoutError) as exc:
            _LOG.warning("member %s %s: %s", member_id, what, exc)
            failed.add(member_id)
    return answers, failed


def _insufficient(chunk: CheckChunk, coverage: Coverage) -> ChunkResult:
    empty = np.zeros((0, 0), dtype=np.uint64)
    return ChunkResult(chunk.chunk_index, False, coverage, empty, (), (), ())


def _reference(row: CachedRow, info: RoundInfo | None, consortium: int) -> RoundReference:
    coverage = Coverage(row.members_asked, row.members_answered, row.attempt, row.participants, consortium)
    participants = info.participants if info is not None else ()
    proofs: tuple[ContributionProof, ...] = info.proofs if info is not None else ()
    return RoundReference(
        row.request_hash,
        row.attempt,
        coverage,
        parse_segment_map(row.segment_map),
        row.round_rows,
        participants,
        proofs,
    )


def _from_cache(
    chunk: CheckChunk, cached: dict[bytes, CachedRow], cache: CheckCache, consortium: int
) -> ChunkResult:
    width = len(next(iter(cached.values())).masked_row) // 8
    first = cached[chunk.dedup_tags[0]]
    empty = ChunkResult(
        chunk.chunk_index,
        True,
        _reference(first, None, consortium).coverage,
        np.zeros((chunk.subject_count, width), dtype=np.uint64),
        (),
        (0,) * chunk.subject_count,
        (0,) * chunk.subject_count,
    )
    return _with_cached_rows(chunk, empty, cached, cache, consortium)


def _with_cached_rows(
    chunk: CheckChunk, fresh: ChunkResult, cached: dict[bytes, CachedRow], cache: CheckCache, consortium: int
) -> ChunkResult:
    """Replace rows by earlier answers for subjects already checked today, noting where each came from."""
    if not cached:
        return fresh
    rounds = list(fresh.rounds)
    index_of = {reference.request_hash: number for number, reference in enumerate(rounds)}
    infos = cache.round_infos({row.request_hash for row in cached.values()} - set(index_of))
    rows = fresh.masked_rows.copy()
    row_round, row_index = list(fresh.row_round), list(fresh.row_index)
    for index, tag in enumerate(chunk.dedup_tags):
        if tag in cached:
            row = cached[tag]
            if row.request_hash not in index_of:
                index_of[row.request_hash] = len(rounds)
                rounds.append(_reference(row, infos.get(row.request_hash), consortium))
            row_round[index], row_index[index] = index_of[row.request_hash], row.row_index
            rows[index] = np.frombuffer(row.masked_row, dtype="<u8")
    return ChunkResult(
        fresh.chunk_index, True, fresh.coverage, rows, tuple(rounds), tuple(row_round), tuple(row_index)
    )

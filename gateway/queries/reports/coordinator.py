"""The bureau's side of a regulator report: verify, fan out, collect, open, release, cache.

A request is the regulator's signed order (issue #13). The bureau checks the signature and
that the signer is the caller, answers a repeat of (template, period, regulator) from its
release cache — never re-noised — and otherwise runs three phases over the online members:

3. **Holders count** (``holders.py``): members stream masked bucket vectors; once every
   member revealed its self-mask the bureau opens a sum still masked by a members-only mask
   and serves it back to them.
1. **Counts**: bounded counts, measured totals and institution indicators, noised and masked.
2. **Dominance** (only when enough members answer for the institution rules): flags against
   the phase-1 noisy totals, reused as they were opened — never re-noised.

Each phase collects every member's share first and only then asks each to reveal the
attempt's self-mask (``OpenReportShare``). A member missing the deadline is dropped and the
phase re-run over the survivors with a new attempt number; members only ever open one attempt
per phase, so a "dropped" member's share in an earlier attempt can never be opened. Every
phase is journalled (``board.py``): a retry of the same order resumes where it stopped.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

import numpy as np

from gateway.aggregation import MIN_ANSWERING_MEMBERS, answering_set_hash, sum_contributions
from gateway.aggregation.context import canonical_order
from gateway.aggregation.field import P, Residues, SignedValues, decode, sub_into
from gateway.aggregation.self_mask import self_mask
from gateway.aggregation.words import Words, expand_words
from gateway.audit import AuditEvent, AuditRecorder, Outcome
from gateway.bureau import MemberView
from gateway.errors import ConfigError, GatewayError, InvalidInputError, PolicyDenied, UnavailableError
from gateway.identity.peer import Peer
from gateway.identity.revocation import RevocationList
from gateway.policy import PolicyDecisionPoint
from gateway.queries.reports.board import HoldersBoard, PhaseState, RoundJournal
from gateway.queries.reports.holders import SELF_WORDS_LABEL
from gateway.queries.reports.messages import OpenRequest, Phase, ShareLayout, ShareRequest
from gateway.reports.budget import ReleaseCache
from gateway.reports.histograms import Period
from gateway.reports.order import SignedOrder, VerifiedOrder, verify_order
from gateway.reports.release import (
    HistogramMeasurements,
    Release,
    ReleaseKey,
    build_release,
    plan_release,
)
from gateway.reports.templates import ReportTemplate, load_template
from gateway.roles import Role

REQUEST_ACTION = "report.request"
ANSWERING_ROLES = frozenset({Role.BANK, Role.CONSUMER_FINANCE, Role.MICRO_LENDER, Role.AGENCY})
_LOG = logging.getLogger(__name__)
T = TypeVar("T")


class ShareCaller(Protocol):
    """Calls one member's ``ComputeReportShare`` and ``OpenReportShare``; raises a ``GatewayError``."""

    def share(self, member: MemberView, request: ShareRequest, *, width: int, timeout: float) -> Residues:
        """The member's masked vector of ``width`` residues."""

    def open(self, member: MemberView, request: OpenRequest, *, timeout: float) -> bytes:
        """The member's self-mask seed for one attempt."""


@dataclass(frozen=True)
class CoordinatorSettings:
    """Which members count as online (deadlines and attempts come from each template)."""

    liveness_window: dt.timedelta


@dataclass(frozen=True)
class ReportAnswer:
    """A release, the template it follows, and whether it came from the cache."""

    release: Release
    template: ReportTemplate
    from_cache: bool


@dataclass(frozen=True)
class _Round:
    template: ReportTemplate
    order: VerifiedOrder
    request_hash: bytes
    query_time: dt.datetime


@dataclass(frozen=True)
class _Opened:
    """A phase's opened sum, the members it was opened over, and how many attempts it took."""

    values: SignedValues
    participants: tuple[str, ...]


class ReportCoordinator:
    """Runs report requests at the bureau."""

    def __init__(
        self,
        *,
        members: Callable[[], Sequence[MemberView]],
        caller: ShareCaller,
        board: HoldersBoard,
        journal: RoundJournal,
        cache: ReleaseCache,
        policy: PolicyDecisionPoint,
        audit: AuditRecorder,
        policies_dir: Path,
        ca_certificate_pem: bytes,
        revocations: RevocationList,
        settings: CoordinatorSettings,
        clock: Callable[[], dt.datetime],
    ) -> None:
        self._members = members
        self._caller = caller
        self._board = board
        self._journal = journal
        self._cache = cache
        self._policy = policy
        self._audit = audit
        self._policies_dir = policies_dir
        self._ca = ca_certificate_pem
        self._revocations = revocations
        self._settings = settings
        self._clock = clock
        self._pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="report-fan-out")

    def request(self, regulator: Peer, order: SignedOrder, *, correlation_id: str) -> ReportAnswer:
        """The release of the regulator's order, and whether it was cached.

        Raises
        ------
        PolicyDenied
            When the caller may not request reports (or this template), or did not sign the order.
        IdentityError
            When the order's signature does not verify.
        InvalidInputError
            When the template or period is unknown or malformed.
        UnavailableError
            When fewer than three members answer within the attempts allowed.
        GatewayError
            A member's refusal that is not a dropout (budget exhausted, already released).

        """
        self._policy.authorize(regulator, REQUEST_ACTION, {"template_id": order.order.template_id})
        verified = verify_order(
            order, ca_certificate_pem=self._ca, revocation=self._revocations, now=self._clock()
        )
        if (verified.regulator.member_id, verified.regulator.fingerprint) != (
            regulator.member_id,
            regulator.fingerprint,
        ):
            raise PolicyDenied(
                "the order was signed by another certificate than the caller's", reason="order_not_own"
            )
        template = self._template(order.order.template_id)
        key = ReleaseKey(template.template_id, str(Period.parse(order.order.period)), regulator.member_id)
        cached = self._cache.get(key)
        outcome = Outcome.ERROR
        try:
            if cached is not None:
                release = cached
            else:
                round_ = _Round(template, verified, verified.request_hash(template.version), self._clock())
                release = self._cache.put(self._release(round_, key))
            outcome = Outcome.ALLOW
            return ReportAnswer(release, template, from_cache=cached is not None)
        finally:
            self._audit.record(
                AuditEvent.for_peer(
                    regulator,
                    action=REQUEST_ACTION,
                    outcome=outcome,
                    reason=template.template_id,
                    correlation_id=correlation_id,
                    details={"period": key.period, "from_cache": int(cached is not None)},
                )
            )

    def _template(self, template_id: str) -> ReportTemplate:
        try:
            return load_template(self._policies_dir, template_id)
        except ConfigError as exc:
            raise InvalidInputError(str(exc), field="template_id") from exc

    # -- the three phases --------------------------------------------------------------------

    def _release(self, round_: _Round, key: ReleaseKey) -> Release:
        now = self._clock()
        live = [
            m
            for m in self._members()
            if m.role in ANSWERING_ROLES and m.online(now, self._settings.liveness_window)
        ]
        by_id = {m.member_id: m for m in live}
        template = round_.template
        holders = self._phase(round_, Phase.HOLDERS, by_id, tuple(by_id))
        counts = self._phase(round_, Phase.COUNTS, by_id, holders.participants)
        plan = plan_release(template, answering=len(counts.participants))
        layout = ShareLayout.for_plan(template, plan, Phase.COUNTS)
        parts = layout.unpack(counts.values)
        dominance: dict[str, SignedValues] = {}
        unverified = False
        if plan.rules_apply:
            totals = tuple(int(v) for h in template.histograms for v in parts[(h.id, "counts")])
            second = self._phase(round_, Phase.DOMINANCE, by_id, counts.participants, totals=totals)
            dominance_plan = plan_release(template, answering=len(second.participants))
            dominance = {
                h: v
                for (h, _), v in ShareLayout.for_plan(template, dominance_plan, Phase.DOMINANCE)
                .unpack(second.values)
                .items()
            }
            # A member that answered phase 1 but not phase 2 was never checked for dominance.
            unverified = second.participants != counts.participants
        measurements = {
            h.id: HistogramMeasurements(
                counts=parts[(h.id, "counts")],
                margins=tuple(parts[(h.id, f"margin{n}")] for n in range(len(h.margins))),
                institutions=parts.get((h.id, "institutions")),
                dominance=_dominance(dominance.get(h.id), unverified),
            )
            for h in template.histograms
        }
        return build_release(
            template,
            plan,
            period=Period.parse(key.period),
            regulator=key.regulator,
            measurements=measurements,
            released_at=self._clock(),
        )

    def _phase(
        self,
        round_: _Round,
        phase: Phase,
        members: dict[str, MemberView],
        candidates: Sequence[str],
        *,
        totals: tuple[int, ...] = (),
    ) -> _Opened:
        """Run ``phase`` to an opened sum, re-running over survivors; resume from the journal."""
        template = round_.template
        state = self._journal.phase(round_.request_hash, int(phase))
        if state is not None and state.opened is not None:
            return _Opened(np.asarray(state.opened, dtype=np.int64), state.participants)
        if state is not None:
            # Collected or interrupted before: ask the same attempt again (members re-send).
            attempt, live = state.attempt, [m for m in state.participants if m in members]
            if len(live) != len(state.participants):
                attempt, live = state.attempt + 1, live
        else:
            attempt, live = 1, [m for m in candidates if m in members]
        while attempt <= template.round.max_attempts:
            participants = tuple(canonical_order(live))
            if len(participants) < MIN_ANSWERING_MEMBERS:
                break
            self._journal.save_phase(round_.request_hash, int(phase), PhaseState(attempt, participants))
            failed, opened = self._attempt(round_, phase, attempt, [members[m] for m in participants], totals)
            if opened is not None:
                self._journal.save_phase(
                    round_.request_hash,
                    int(phase),
                    PhaseState(attempt, participants, tuple(int(v) for v in opened)),
                )
                return _Opened(opened, participants)
            _LOG.warning("report phase %d attempt %d: %d members dropped", int(phase), attempt, len(failed))
            live = [m for m in participants if m not in failed]
            attempt += 1
        raise UnavailableError(
            f"report {template.template_id}: phase {int(phase)} could not be completed by at least "
            f"{MIN_ANSWERING_MEMBERS} members in {template.round.max_attempts} attempts"
        )

    def _attempt(
        self,
        round_: _Round,
        phase: Phase,
        attempt: int,
        live: Sequence[MemberView],
        totals: tuple[int, ...],
    ) -> tuple[set[str], SignedValues | None]:
        template = round_.template
        participants = tuple(canonical_order(m.member_id for m in live))
        set_hash = answering_set_hash(participants)
        if phase is Phase.HOLDERS:
            width = 1
            self._board.open_round(round_.request_hash, attempt, participants)
        else:
            plan = plan_release(template, answering=len(participants))
            width = ShareLayout.for_plan(template, plan, phase).width
        request = ShareRequest(
            query_time=round_.query_time,
            idempotency_key=round_.order.order.nonce,
            attempt=attempt,
            template_id=template.template_id,
            template_version=template.version,
            period=round_.order.order.period,
            regulator=round_.order.regulator.member_id,
            request_hash=round_.request_hash,
            answering_set_hash=set_hash,
            participants=participants,
            phase=phase,
            order=round_.order.signed,
            noisy_totals=totals,
        )
        deadline = template.round.member_deadline_seconds
        try:
            shares, failed = self._fan_out(
                live, lambda m: self._caller.share(m, request, width=width, timeout=deadline), deadline
            )
            if failed:
                return failed, None
            opening = OpenRequest(round_.request_hash, phase, attempt, set_hash)
            seeds, failed = self._fan_out(
                live, lambda m: self._caller.open(m, opening, timeout=deadline), deadline
            )
            if failed:
                return failed, None
            ordered = [shares[m] for m in participants]
            if phase is Phase.HOLDERS:
                return set(), self._open_holders(
                    round_, attempt, participants, ordered, [seeds[m] for m in participants]
                )
            total = sum_contributions(ordered)
            scratch = np.empty_like(total)
            for member in participants:
                sub_into(total, self_mask(seeds[member], total.shape), scratch=scratch)
            return set(), np.asarray(decode(total), dtype=np.int64)
        finally:
            if phase is Phase.HOLDERS:
                self._board.close_round(round_.request_hash, attempt)

    def _open_holders(
        self,
        round_: _Round,
        attempt: int,
        participants: tuple[str, ...],
        checks: list[Residues],
        seeds: list[bytes],
    ) -> SignedValues:
        """Sum and open the holders vectors (still members-masked) and publish them to the members."""
        buckets = round_.template.holders_buckets
        words: Words = self._board.total(round_.request_hash, attempt, participants, words=buckets)
        check = sum_contributions(checks)
        scratch = np.empty_like(check)
        for seed in seeds:
            words -= expand_words(seed, label=SELF_WORDS_LABEL, count=buckets)
            sub_into(check, self_mask(seed, check.shape), scratch=scratch)
        self._board.publish(round_.request_hash, words, int(check[0]) % P, participants)
        return np.zeros(0, dtype=np.int64)

    def _fan_out(
        self, live: Sequence[MemberView], call: Callable[[MemberView], T], deadline: float
    ) -> tuple[dict[str, T], set[str]]:
        futures = {m.member_id: self._pool.submit(call, m) for m in live}
        results: dict[str, T] = {}
        failed: set[str] = set()
        refusals: list[GatewayError] = []
        for member_id, future in futures.items():
            try:
                results[member_id] = future.result(timeout=deadline + 1)
            except (UnavailableError, PolicyDenied) as exc:
                # A member whose policy does not answer this template is left out like a dropout.
                _LOG.warning("member %s did not answer: %s", member_id, exc)
                failed.add(member_id)
            except TimeoutError:
                failed.add(member_id)
            except GatewayError as exc:
                refusals.append(exc)
        if refusals:
            raise refusals[0]
        return results, failed


def _dominance(flags: SignedValues | None, unverified: bool) -> SignedValues | None:
    """Dominance flags; where a member could not be checked, every gated cell counts as dominated."""
    if flags is None or not unverified:
        return flags
    return np.ones_like(flags)

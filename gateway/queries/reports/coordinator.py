"""The bureau's side of a regulator report: decide, fan out, sum, open, release, cache.

A request is answered from the release cache when (template, period, regulator) was
released before: never re-noised. Otherwise every online member is asked for its phase-1
share; a member missing the deadline is dropped and the round re-run over the survivors
with fresh masks and fresh noise (the members charge their budget once per request). The
bureau opens the sum: members' noise shares make it differentially private, so the bureau
sees no exact count. Where enough members answer for the institution rules, a second phase
collects dominance flags against the phase-1 noisy totals.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from gateway.aggregation import MIN_ANSWERING_MEMBERS, answering_set_hash, sum_contributions
from gateway.aggregation.field import Residues, SignedValues, decode
from gateway.audit import AuditEvent, AuditRecorder, Outcome
from gateway.bureau import MemberView
from gateway.errors import ConfigError, GatewayError, InvalidInputError, PolicyDenied, UnavailableError
from gateway.identity.peer import Peer
from gateway.policy import PolicyDecisionPoint
from gateway.queries.reports.messages import Phase, ShareLayout, ShareRequest, report_request_hash
from gateway.queries.reports.pseudonyms import PseudonymTally
from gateway.reports.budget import ReleaseCache
from gateway.reports.histograms import Period
from gateway.reports.release import Release, ReleaseKey, ReleasePlan, build_release, plan_release
from gateway.reports.templates import Feed, ReportTemplate, load_template
from gateway.roles import Role

REQUEST_ACTION = "report.request"
ANSWERING_ROLES = frozenset({Role.BANK, Role.CONSUMER_FINANCE, Role.MICRO_LENDER, Role.AGENCY})
_LOG = logging.getLogger(__name__)


class ShareCaller(Protocol):
    """Calls one member's ``ComputeReportShare``; raises a ``GatewayError`` on failure or timeout."""

    def share(self, member: MemberView, request: ShareRequest, *, width: int, timeout: float) -> Residues:
        """The member's masked vector of ``width`` residues."""


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
    period: Period
    regulator: str
    request_hash: bytes
    idempotency_key: bytes
    query_time: dt.datetime


class ReportCoordinator:
    """Runs report requests at the bureau."""

    def __init__(
        self,
        *,
        members: Callable[[], Sequence[MemberView]],
        caller: ShareCaller,
        tally: PseudonymTally,
        cache: ReleaseCache,
        policy: PolicyDecisionPoint,
        audit: AuditRecorder,
        policies_dir: Path,
        settings: CoordinatorSettings,
        clock: Callable[[], dt.datetime],
    ) -> None:
        self._members = members
        self._caller = caller
        self._tally = tally
        self._cache = cache
        self._policy = policy
        self._audit = audit
        self._policies_dir = policies_dir
        self._settings = settings
        self._clock = clock
        self._pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="report-fan-out")

    def request(self, regulator: Peer, template_id: str, period: str, *, correlation_id: str) -> ReportAnswer:
        """The release for ``(template_id, period)`` to ``regulator``, and whether it was cached.

        Raises
        ------
        PolicyDenied
            When the caller may not request reports (or this template).
        InvalidInputError
            When the template or period is unknown or malformed.
        UnavailableError
            When fewer than three members answer within the attempts allowed.
        GatewayError
            A member's refusal that is not a dropout (budget exhausted, policy denied).

        """
        self._policy.authorize(regulator, REQUEST_ACTION, {"template_id": template_id})
        template = self._template(template_id)
        key = ReleaseKey(template.template_id, str(Period.parse(period)), regulator.member_id)
        cached = self._cache.get(key)
        outcome = Outcome.ERROR
        try:
            release = cached if cached is not None else self._cache.put(self._release(template, key))
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

    def _release(self, template: ReportTemplate, key: ReleaseKey) -> Release:
        now = self._clock()
        nonce = os.urandom(16)
        round_ = _Round(
            template,
            Period.parse(key.period),
            key.regulator,
            report_request_hash(template, key.period, key.regulator, nonce),
            nonce,
            now,
        )
        live = [
            m
            for m in self._members()
            if m.role in ANSWERING_ROLES and m.online(now, self._settings.liveness_window)
        ]
        for attempt in range(1, template.round.max_attempts + 1):
            if len(live) < MIN_ANSWERING_MEMBERS:
                break
            failed, release = self._attempt(round_, attempt, live)
            if release is not None:
                return release
            _LOG.warning("report %s attempt %d: %d members dropped", key, attempt, len(failed))
            live = [m for m in live if m.member_id not in failed]
        raise UnavailableError(
            f"report {key}: {len(live)} members answering; expected at least {MIN_ANSWERING_MEMBERS}"
        )

    def _attempt(
        self, round_: _Round, attempt: int, live: Sequence[MemberView]
    ) -> tuple[set[str], Release | None]:
        template = round_.template
        plan = plan_release(template, answering=len(live))
        participants = tuple(sorted(m.member_id for m in live))
        self._tally.open(round_.request_hash, attempt, participants)
        try:
            counts_layout = ShareLayout.for_plan(template, plan, Phase.COUNTS)
            first, failed = self._phase(round_, attempt, live, Phase.COUNTS, counts_layout.width, ())
        finally:
            multiplicities = (
                self._tally.close(round_.request_hash, attempt, template.dimensions["lender_count"])
                if template.uses_pseudonym_join
                else None
            )
        if first is None:
            return failed, None
        parts = counts_layout.unpack(first)
        counts = {h: parts[(h, "counts")] for h, _, _ in counts_layout.part("counts")}
        for histogram in template.histograms:
            if histogram.feed is Feed.LENDERS_PER_BORROWER and multiplicities is not None:
                counts[histogram.id] = counts[histogram.id] + multiplicities
        institutions = {h: parts[(h, "institutions")] for h, _, _ in counts_layout.part("institutions")}
        dominance: dict[str, SignedValues] = {}
        if plan.rules_apply:
            totals = tuple(int(v) for h in template.histograms for v in counts[h.id])
            dominance_layout = ShareLayout.for_plan(template, plan, Phase.DOMINANCE)
            second, failed = self._phase(
                round_, attempt, live, Phase.DOMINANCE, dominance_layout.width, totals
            )
            if second is None:
                return failed, None
            dominance = {h: v for (h, _), v in dominance_layout.unpack(second).items()}
        return set(), self._build(round_, plan, counts, institutions, dominance)

    def _build(
        self,
        round_: _Round,
        plan: ReleasePlan,
        counts: dict[str, SignedValues],
        institutions: dict[str, SignedValues],
        dominance: dict[str, SignedValues],
    ) -> Release:
        return build_release(
            round_.template,
            plan,
            period=round_.period,
            regulator=round_.regulator,
            noisy_counts=counts,
            noisy_institutions=institutions if plan.rules_apply else None,
            noisy_dominance=dominance if plan.rules_apply else None,
            released_at=self._clock(),
        )

    def _phase(
        self,
        round_: _Round,
        attempt: int,
        live: Sequence[MemberView],
        phase: Phase,
        width: int,
        totals: tuple[int, ...],
    ) -> tuple[SignedValues | None, set[str]]:
        participants = tuple(sorted(m.member_id for m in live))
        request = ShareRequest(
            query_time=round_.query_time,
            idempotency_key=round_.idempotency_key,
            attempt=attempt,
            template_id=round_.template.template_id,
            template_version=round_.template.version,
            period=str(round_.period),
            regulator=round_.regulator,
            request_hash=round_.request_hash,
            answering_set_hash=answering_set_hash(participants),
            participants=participants,
            phase=phase,
            noisy_totals=totals,
        )
        deadline = round_.template.round.member_deadline_seconds
        futures = {
            m.member_id: self._pool.submit(self._caller.share, m, request, width=width, timeout=deadline)
            for m in live
        }
        shares: list[Residues] = []
        failed: set[str] = set()
        refusals: list[GatewayError] = []
        for member_id, future in futures.items():
            try:
                shares.append(future.result(timeout=deadline + 1))
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
        if failed:
            return None, failed
        return np.asarray(decode(sum_contributions(shares)), dtype=np.int64), set()

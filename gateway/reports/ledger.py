"""A member's durable state for the reports it answers: requests, attempts and its privacy ledger.

The contract (issue #13, issue #17 item 2); every method runs in one transaction (SQLite
serialises writers; PostgreSQL holds the request's rows under ``SELECT … FOR UPDATE``):

* **Who is charged.** A request is named by the regulator's signed order; its ledger rows carry
  the regulator the order's certificate names, never a string the bureau chose.
* **Charge every attempt answered.** Each new attempt a member answers is charged its phase's ρ
  in the same transaction that stores the share it sends, after the share was computed; a
  share that could not be computed is never charged, a charge that does not fit the budget
  stores nothing.
* **A retry is not a new release.** The same (request, phase, attempt, answering set, inputs)
  returns the stored share: no new noise, no new charge.
* **Attempts only move forward and sets only shrink.** A new attempt must be numbered above
  every attempt answered in its phase, at most the template's cap, over a strict subset of the
  last answered set, and nothing is answered in a phase once one of its attempts was opened.
  Phase 1 needs phase 3 opened and phase 2 needs phase 1 opened, over subsets of those sets.
* **Open at most once.** A member reveals the self-mask of at most one attempt per request and
  phase. Only then can it *verify* that every other attempt of that phase is never opened, and
  only those attempts are refunded.
* **One release per report.** A new request for a (template, period, regulator) that was
  released before is refused (``AlreadyReleasedError``); one whose earlier request never had
  its counts opened closes that earlier request (refunding it) instead of locking the
  regulator out of the month.
* **Budgets.** ρ per (regulator, period) and ρ per period over every regulator together, from
  ``policies/privacy_budget.toml``; zCDP composes by addition (Bun & Steinke 2016).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from gateway.errors import ProtocolRefused, RateLimited, StoreError
from gateway.reports.budget import BudgetPolicy
from gateway.reports.errors import AlreadyReleasedError
from gateway.reports.order import VerifiedOrder
from gateway.store.database import Store
from gateway.store.enums import ReportAttemptState
from gateway.store.models import ReportAttempt, ReportCharge, ReportRequest

__all__ = ["AttemptRecord", "ChargeRecord", "PhaseRules", "ReportLedger", "ShareIdentity"]

_TOLERANCE = 1e-12
HOLDERS, COUNTS, DOMINANCE = 3, 1, 2
# Which phase must be opened before a phase may be answered, and over whose set.
_PREREQUISITE = {HOLDERS: None, COUNTS: HOLDERS, DOMINANCE: COUNTS}


@dataclass(frozen=True)
class ShareIdentity:
    """What a share answers: the request, phase, attempt, answering set and the phase's inputs."""

    request_hash: bytes
    template_version: int
    phase: int
    attempt: int
    participants: tuple[str, ...]
    answering_set_hash: bytes
    context_hash: bytes


@dataclass(frozen=True)
class PhaseRules:
    """Limits a member applies to one phase of a template."""

    max_attempts: int
    rho: float


@dataclass(frozen=True)
class AttemptRecord:
    """An attempt this member answered."""

    phase: int
    attempt: int
    participants: tuple[str, ...]
    answering_set_hash: bytes
    context_hash: bytes
    share: bytes
    state: ReportAttemptState


@dataclass(frozen=True)
class ChargeRecord:
    """One row of the ledger."""

    request_hash: bytes
    phase: int
    attempt: int
    regulator: str
    period: str
    template_id: str
    template_version: int
    rho: float
    charged_at: dt.datetime
    refunded: bool


class ReportLedger:
    """Repository over ``report_requests``, ``report_attempts`` and ``report_charges``.

    Parameters
    ----------
    store
        The member's store.
    policy
        The budget figures.
    clock
        Returns the current aware UTC time.

    """

    def __init__(self, store: Store, policy: BudgetPolicy, *, clock: Callable[[], dt.datetime]) -> None:
        self._store = store
        self._policy = policy
        self._clock = clock

    # -- answering ---------------------------------------------------------------------------

    def stored(self, order: VerifiedOrder, share: ShareIdentity, rules: PhaseRules) -> AttemptRecord | None:
        """The share stored for exactly this attempt (a retry), or ``None`` when it may be computed.

        Checks every rule before the member computes anything, so a request that will be
        refused costs no work; :meth:`record` checks them again when it stores the share.

        Raises
        ------
        ProtocolRefused
            Naming the rule the request breaks.
        AlreadyReleasedError
            When the report was released by an earlier request.
        RateLimited
            When the charge would exceed a budget.

        """
        with self._store.transaction() as session:
            return self._check(session, order, share, rules)

    def record(
        self, order: VerifiedOrder, share: ShareIdentity, rules: PhaseRules, masked: bytes
    ) -> AttemptRecord:
        """Store the share and charge it, or return the share already stored for this attempt.

        Raises
        ------
        ProtocolRefused, AlreadyReleasedError, RateLimited
            As :meth:`stored`; nothing is stored or charged.

        """
        now = self._clock()
        with self._store.transaction() as session:
            existing = self._check(session, order, share, rules)
            if existing is not None:
                return existing
            request = session.get(ReportRequest, share.request_hash, with_for_update=True)
            if request is None:
                self._close_superseded(session, order, share.request_hash, now)
                session.add(
                    ReportRequest(
                        request_hash=share.request_hash,
                        regulator_id=order.regulator.member_id,
                        regulator_fingerprint=order.regulator.fingerprint,
                        template_id=order.order.template_id,
                        template_version=share.template_version,
                        period=order.order.period,
                        nonce=order.order.nonce,
                        closed=False,
                        created_at=now,
                    )
                )
                session.flush()
            self._check_budget(session, order, rules.rho)
            session.add(
                ReportAttempt(
                    request_hash=share.request_hash,
                    phase=share.phase,
                    attempt=share.attempt,
                    participants=",".join(share.participants),
                    answering_set_hash=share.answering_set_hash,
                    context_hash=share.context_hash,
                    share=masked,
                    state=ReportAttemptState.ANSWERED,
                    answered_at=now,
                    opened_at=None,
                )
            )
            if rules.rho > 0:
                session.add(
                    ReportCharge(
                        request_hash=share.request_hash,
                        phase=share.phase,
                        attempt=share.attempt,
                        regulator_id=order.regulator.member_id,
                        period=order.order.period,
                        template_id=order.order.template_id,
                        template_version=share.template_version,
                        rho=rules.rho,
                        charged_at=now,
                        refunded_at=None,
                    )
                )
        return AttemptRecord(
            share.phase,
            share.attempt,
            share.participants,
            share.answering_set_hash,
            share.context_hash,
            masked,
            ReportAttemptState.ANSWERED,
        )

    def open(self, request_hash: bytes, phase: int, attempt: int, answering_set_hash: bytes) -> AttemptRecord:
        """Mark ``attempt`` opened (idempotent) and refund every other attempt of its phase.

        Raises
        ------
        ProtocolRefused
            When the attempt was not answered over that set, its request is closed, it is not
            the last attempt answered in its phase, or another attempt of the phase was opened.

        """
        now = self._clock()
        with self._store.transaction() as session:
            request = session.get(ReportRequest, request_hash, with_for_update=True)
            if request is None or request.closed:
                raise ProtocolRefused("no open report request of that hash", reason="report_request_unknown")
            rows = _attempts(session, request_hash, phase)
            row = next((r for r in rows if r.attempt == attempt), None)
            if row is None or row.answering_set_hash != answering_set_hash:
                raise ProtocolRefused("this attempt was not answered over that set", reason="not_answered")
            if row.state is ReportAttemptState.OPENED:
                return _record(row)
            if any(r.state is ReportAttemptState.OPENED for r in rows) or rows[-1].attempt != attempt:
                raise ProtocolRefused(
                    "only the last attempt answered in a phase may be opened, and only once",
                    reason="open_refused",
                )
            row.state = ReportAttemptState.OPENED
            row.opened_at = now
            others = [r for r in rows if r.attempt != attempt and r.state is ReportAttemptState.ANSWERED]
            for other in others:
                other.state = ReportAttemptState.CLOSED
            _refund(session, request_hash, now, phase=phase, attempts=[r.attempt for r in others])
            return _record(row)

    # -- reading -----------------------------------------------------------------------------

    def opened(self, request_hash: bytes, phase: int) -> AttemptRecord | None:
        """The opened attempt of ``phase``, if any."""
        with self._store.transaction() as session:
            row = next(
                (r for r in _attempts(session, request_hash, phase) if r.state is ReportAttemptState.OPENED),
                None,
            )
            return None if row is None else _record(row)

    def charges(self, *, regulator: str | None = None, period: str | None = None) -> list[ChargeRecord]:
        """Ledger rows, oldest first, optionally for one regulator and/or period."""
        statement = sa.select(ReportCharge).order_by(ReportCharge.id)
        if regulator is not None:
            statement = statement.where(ReportCharge.regulator_id == regulator)
        if period is not None:
            statement = statement.where(ReportCharge.period == period)
        with self._store.transaction() as session:
            return [
                ChargeRecord(
                    c.request_hash,
                    c.phase,
                    c.attempt,
                    c.regulator_id,
                    c.period,
                    c.template_id,
                    c.template_version,
                    c.rho,
                    c.charged_at,
                    c.refunded_at is not None,
                )
                for c in session.scalars(statement)
            ]

    def spent(self, period: str, *, regulator: str | None = None) -> float:
        """ρ charged and not refunded in ``period``, for one regulator or over all of them."""
        return math.fsum(c.rho for c in self.charges(regulator=regulator, period=period) if not c.refunded)

    def remaining(self, regulator: str, period: str) -> float:
        """ρ this member still allows ``regulator`` in ``period``.

        The lower of the regulator's own cap and what is left of the member's monthly cap over
        every regulator together.
        """
        return _remaining(self._policy, self.charges(period=period), regulator)

    def balances(self) -> dict[tuple[str, str], float]:
        """ρ still allowed per ``(regulator, period)`` charged so far (for the metrics gauge)."""
        charges = self.charges()
        by_period: dict[str, list[ChargeRecord]] = {}
        for charge in charges:
            by_period.setdefault(charge.period, []).append(charge)
        return {
            (c.regulator, c.period): _remaining(self._policy, by_period[c.period], c.regulator)
            for c in charges
        }

    # -- rules -------------------------------------------------------------------------------

    def _check(
        self, session: sa.orm.Session, order: VerifiedOrder, share: ShareIdentity, rules: PhaseRules
    ) -> AttemptRecord | None:
        request = session.get(ReportRequest, share.request_hash, with_for_update=True)
        if request is not None:
            if request.closed:
                raise ProtocolRefused(
                    "this report request was replaced by a later one", reason="report_request_closed"
                )
            if request.regulator_id != order.regulator.member_id or request.nonce != order.order.nonce:
                raise ProtocolRefused("the order does not match the request", reason="order_mismatch")
        else:
            self._check_not_released(session, order, share.request_hash)
        rows = _attempts(session, share.request_hash, share.phase)
        same = next((r for r in rows if r.attempt == share.attempt), None)
        if same is not None:
            if (same.answering_set_hash, same.context_hash) != (share.answering_set_hash, share.context_hash):
                raise ProtocolRefused(
                    f"attempt {share.attempt} was answered over another set or other inputs",
                    reason="attempt_replayed",
                )
            if same.state is ReportAttemptState.CLOSED:
                raise ProtocolRefused("this attempt was closed", reason="attempt_closed")
            return _record(same)
        if not 1 <= share.attempt <= rules.max_attempts:
            raise ProtocolRefused(
                f"attempt {share.attempt} is outside 1..{rules.max_attempts}", reason="attempt_out_of_range"
            )
        if any(r.state is ReportAttemptState.OPENED for r in rows):
            raise ProtocolRefused("an attempt of this phase was already opened", reason="finalized")
        if rows:
            last = rows[-1]
            if share.attempt <= last.attempt:
                raise ProtocolRefused(
                    f"attempt {share.attempt} after attempt {last.attempt} was answered",
                    reason="attempt_replayed",
                )
            if not set(share.participants) < set(last.participants.split(",")):
                raise ProtocolRefused(
                    "the answering set of a re-run must be a strict subset of the earlier one",
                    reason="answering_set_not_shrinking",
                )
        prerequisite = _PREREQUISITE.get(share.phase)
        if prerequisite is not None:
            before = next(
                (
                    r
                    for r in _attempts(session, share.request_hash, prerequisite)
                    if r.state is ReportAttemptState.OPENED
                ),
                None,
            )
            if before is None:
                raise ProtocolRefused(
                    f"phase {share.phase} before phase {prerequisite} was opened", reason="phase_out_of_order"
                )
            if not set(share.participants) <= set(before.participants.split(",")):
                raise ProtocolRefused(
                    f"phase {share.phase} names members outside the set phase {prerequisite} was opened over",
                    reason="answering_set_not_shrinking",
                )
        self._check_budget(
            session, order, rules.rho, pending_refund=share.request_hash if request is None else None
        )
        return None

    def _check_not_released(self, session: sa.orm.Session, order: VerifiedOrder, request_hash: bytes) -> None:
        for earlier in _same_report(session, order, request_hash):
            opened = session.scalars(
                sa.select(ReportAttempt.id).where(
                    ReportAttempt.request_hash == earlier.request_hash,
                    ReportAttempt.phase == COUNTS,
                    ReportAttempt.state == ReportAttemptState.OPENED,
                )
            ).first()
            if opened is not None:
                raise AlreadyReleasedError(
                    f"report {order.order.template_id}/{order.order.period}/{order.regulator.member_id} "
                    "was already released; expected it to be answered from the bureau's cache"
                )

    def _close_superseded(
        self, session: sa.orm.Session, order: VerifiedOrder, request_hash: bytes, now: dt.datetime
    ) -> None:
        """Close earlier requests for the same report that were never opened, refunding them."""
        for earlier in _same_report(session, order, request_hash):
            earlier.closed = True
            for row in _attempts(session, earlier.request_hash, None):
                row.state = ReportAttemptState.CLOSED
            _refund(session, earlier.request_hash, now, phase=None, attempts=None)

    def _check_budget(
        self,
        session: sa.orm.Session,
        order: VerifiedOrder,
        rho: float,
        *,
        pending_refund: bytes | None = None,
    ) -> None:
        if rho <= 0:
            return
        if not math.isfinite(rho):
            raise StoreError(f"expected a finite rho, received {rho}")
        period, regulator = order.order.period, order.regulator.member_id
        live = list(
            session.scalars(
                sa.select(ReportCharge).where(
                    ReportCharge.period == period, ReportCharge.refunded_at.is_(None)
                )
            )
        )
        if pending_refund is not None:
            # A new request closes the unopened requests for its report before it is charged.
            superseded = {r.request_hash for r in _same_report(session, order, pending_refund)}
            live = [c for c in live if c.request_hash not in superseded]
        by_regulator = math.fsum(c.rho for c in live if c.regulator_id == regulator)
        overall = math.fsum(c.rho for c in live)
        limits = (
            (by_regulator, self._policy.rho_per_regulator_period, f"regulator {regulator}"),
            (overall, self._policy.rho_per_member_period, "all regulators together"),
        )
        for spent, limit, whom in limits:
            if spent + rho > limit + _TOLERANCE:
                raise RateLimited(
                    f"privacy budget exhausted for {whom} in {period}: this answer needs rho "
                    f"{rho:.4g}, {max(0.0, limit - spent):.4g} of {limit:.4g} remains",
                    reason="privacy_budget_exhausted",
                )


def _same_report(
    session: sa.orm.Session, order: VerifiedOrder, request_hash: bytes
) -> Sequence[ReportRequest]:
    return list(
        session.scalars(
            sa.select(ReportRequest)
            .where(
                ReportRequest.template_id == order.order.template_id,
                ReportRequest.period == order.order.period,
                ReportRequest.regulator_id == order.regulator.member_id,
                ReportRequest.request_hash != request_hash,
                ReportRequest.closed.is_(False),
            )
            .with_for_update()
        )
    )


def _attempts(session: sa.orm.Session, request_hash: bytes, phase: int | None) -> list[ReportAttempt]:
    statement = sa.select(ReportAttempt).where(ReportAttempt.request_hash == request_hash)
    if phase is not None:
        statement = statement.where(ReportAttempt.phase == phase)
    return list(session.scalars(statement.order_by(ReportAttempt.attempt).with_for_update()))


def _refund(
    session: sa.orm.Session,
    request_hash: bytes,
    now: dt.datetime,
    *,
    phase: int | None,
    attempts: Sequence[int] | None,
) -> None:
    statement = sa.select(ReportCharge).where(
        ReportCharge.request_hash == request_hash, ReportCharge.refunded_at.is_(None)
    )
    if phase is not None:
        statement = statement.where(ReportCharge.phase == phase)
    for charge in session.scalars(statement.with_for_update()):
        if attempts is None or charge.attempt in attempts:
            charge.refunded_at = now


def _record(row: ReportAttempt) -> AttemptRecord:
    return AttemptRecord(
        row.phase,
        row.attempt,
        tuple(row.participants.split(",")),
        row.answering_set_hash,
        row.context_hash,
        row.share,
        row.state,
    )


def _remaining(policy: BudgetPolicy, charges: Sequence[ChargeRecord], regulator: str) -> float:
    """What :meth:`ReportLedger.remaining` computes, over one period's ``charges``."""
    live = [c for c in charges if not c.refunded]
    by_regulator = math.fsum(c.rho for c in live if c.regulator == regulator)
    overall = math.fsum(c.rho for c in live)
    return max(
        0.0,
        min(policy.rho_per_regulator_period - by_regulator, policy.rho_per_member_period - overall),
    )

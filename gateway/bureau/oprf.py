"""The bureau evaluating blinded elements for members (RFC 9497 mode OPRF).

The bureau never sees an identifier: only blinded ristretto255 elements. But every
evaluation is a token a member could use to probe the consortium, so evaluations are
capped per member, per day and per month, at sizes the policy derives from each member's
book (issue #11 finding 8); the counts persist in the bureau's store, so a restart resets
nothing, and crossing ``alert_fraction`` of a cap is audited and logged once per period.

Key rotation (issue #17 item 9): ``credgate bureau rotate-key`` adds an epoch that starts
serving checks only after the policy's grace period. Until then the previous epoch keeps
serving and members re-tokenise their books under the new one by naming it; afterwards the
new epoch serves and both kinds of stored token keep answering.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

import sqlalchemy as sa

from gateway.audit import AuditEvent, AuditRecorder, Outcome
from gateway.bureau.rate_limit import RateLimiter
from gateway.errors import NotFoundError, RateLimited
from gateway.identity.peer import Peer
from gateway.policy import PolicyDecisionPoint
from gateway.queries.subject_check.settings import OPRFCaps
from gateway.store.database import Store
from gateway.store.models import OPRFUsage
from gateway.tokens.oprf.keyring import OPRFKeyRing
from gateway.tokens.oprf.server import blind_evaluate

EVALUATE_ACTION = "tokens.evaluate"
SCHEDULE_FILE = "serving.json"
_LOG = logging.getLogger(__name__)


def serving_epoch(ring: OPRFKeyRing, now: dt.datetime) -> int:
    """The newest epoch whose grace period is over (an epoch without a schedule serves at once)."""
    schedule = _schedule(ring.folder)
    serving = [e for e in ring.epochs if e not in schedule or schedule[e] <= now]
    return max(serving) if serving else min(ring.epochs)


def rotate_with_grace(folder: Path, *, grace: dt.timedelta, now: dt.datetime) -> tuple[int, dt.datetime]:
    """Add a new epoch that starts serving at ``now + grace``; return it and that time."""
    ring = OPRFKeyRing.load_or_create(folder)
    epoch = ring.rotate()
    schedule = _schedule(folder)
    schedule[epoch] = now + grace
    path = folder / SCHEDULE_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({str(e): t.isoformat() for e, t in schedule.items()}), encoding="utf-8")
    tmp.replace(path)
    return epoch, schedule[epoch]


def _schedule(folder: Path) -> dict[int, dt.datetime]:
    path = folder / SCHEDULE_FILE
    if not path.exists():
        return {}
    raw = json.loads(path.read_text(encoding="utf-8"))
    return {int(e): dt.datetime.fromisoformat(t) for e, t in raw.items()}


class OPRFUsageLedger:
    """Persisted OPRF evaluations per member and period (``oprf_usage``).

    The contract: :meth:`charge` adds ``units`` to the member's day and month in one
    transaction or raises ``RateLimited`` and adds nothing; it returns the caps crossing
    their alert fraction for the first time in the period.
    """

    def __init__(self, store: Store, caps: OPRFCaps) -> None:
        self._store = store
        self._caps = caps

    def charge(self, member_id: str, units: int, *, day: dt.date) -> list[str]:
        """Charge ``units`` evaluations; return the names of caps newly past the alert fraction.

        Raises
        ------
        RateLimited
            Naming the cap that would be exceeded; nothing is charged.

        """
        periods = (
            (f"d{day.isoformat()}", self._caps.daily(member_id), "daily"),
            (f"m{day:%Y-%m}", self._caps.monthly(member_id), "monthly"),
        )
        alerts: list[str] = []
        with self._store.transaction() as session:
            rows = []
            for period, cap, name in periods:
                row = session.get(OPRFUsage, (member_id, period), with_for_update=True)
                used = row.used if row is not None else 0
                if used + units > cap:
                    raise RateLimited(
                        f"{member_id} would exceed its {name} OPRF cap ({used} + {units} > {cap}); "
                        "caps are sized to the member's book in policies/subject_check.toml",
                        reason="oprf_cap",
                    )
                rows.append((row, period, cap, name, used))
            for row, period, cap, name, used in rows:
                if row is None:
                    row = OPRFUsage(member_id=member_id, period=period, used=0, alerted=False)
                    session.add(row)
                row.used = used + units
                if not row.alerted and row.used >= cap * self._caps.alert_fraction:
                    row.alerted = True
                    alerts.append(f"{name} cap {row.used}/{cap}")
            # Old periods are dead weight: keep this month's and today's only.
            session.execute(
                sa.delete(OPRFUsage).where(
                    OPRFUsage.member_id == member_id, OPRFUsage.period.not_in([p for p, _, _ in periods])
                )
            )
        return alerts


class OPRFEvaluator:
    """Evaluates members' blinded elements under the serving (or a named newer) key epoch."""

    def __init__(
        self,
        *,
        key_folder: Path,
        limiter: RateLimiter,
        usage: OPRFUsageLedger,
        policy: PolicyDecisionPoint,
        audit: AuditRecorder,
        clock: Callable[[], dt.datetime],
        zone: dt.tzinfo,
    ) -> None:
        OPRFKeyRing.load_or_create(key_folder)
        self._key_folder = key_folder
        self._limiter = limiter
        self._usage = usage
        self._policy = policy
        self._audit = audit
        self._clock = clock
        self._zone = zone

    def evaluate(
        self, member: Peer, blinded: Sequence[bytes], *, token_type: str, correlation_id: str, epoch: int = 0
    ) -> tuple[int, int, list[bytes]]:
        """Evaluate one chunk; return the epoch used, the newest epoch, and the evaluated elements.

        Raises
        ------
        PolicyDenied
            When the member's role may not tokenise.
        RateLimited
            When the member's per-minute limit or its daily or monthly cap would be exceeded.
        NotFoundError
            When ``epoch`` names an epoch older than the serving one or not held.
        InvalidInputError
            Naming the first element that is not a valid group element.

        """
        self._policy.authorize(member, EVALUATE_ACTION, {"token_type": token_type})
        now = self._clock()
        # Read the ring on every chunk: `credgate bureau rotate-key` takes effect without a restart.
        ring = OPRFKeyRing.load(self._key_folder)
        serving = serving_epoch(ring, now)
        chosen = epoch or serving
        if chosen < serving or chosen not in ring.epochs:
            raise NotFoundError(
                f"OPRF key epoch {chosen} is not available (serving {serving}, newest {max(ring.epochs)})",
                reason="oprf_key_epoch_unknown",
            )
        self._limiter.charge(member.member_id, len(blinded), now=now)
        alerts = self._usage.charge(member.member_id, len(blinded), day=now.astimezone(self._zone).date())
        for alert in alerts:
            _LOG.warning("ALERT: %s passed %s of its OPRF evaluations", member.member_id, alert)
            self._audit.record(
                AuditEvent.for_peer(
                    member,
                    action=f"{EVALUATE_ACTION}.cap_alert",
                    outcome=Outcome.ALLOW,
                    reason=alert,
                    correlation_id=uuid.uuid4().hex,
                )
            )
        key = ring.get(chosen)
        evaluated = blind_evaluate(key, blinded)
        self._audit.record(
            AuditEvent.for_peer(
                member,
                action=EVALUATE_ACTION,
                outcome=Outcome.ALLOW,
                reason=token_type,
                correlation_id=correlation_id,
                details={"elements": len(blinded), "key_epoch": key.epoch},
            )
        )
        return key.epoch, max(ring.epochs), evaluated

"""The bureau evaluating blinded elements for members (RFC 9497 mode OPRF).

The bureau never sees an identifier: only blinded ristretto255 elements. It
rate-limits and audits evaluations per member, because every evaluation is a
token a member could use to probe the consortium (ARCHITECTURE §5).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path

from gateway.audit import AuditEvent, AuditRecorder, Outcome
from gateway.bureau.rate_limit import RateLimiter
from gateway.identity.peer import Peer
from gateway.policy import PolicyDecisionPoint
from gateway.tokens.oprf.keyring import OPRFKeyRing
from gateway.tokens.oprf.server import blind_evaluate

EVALUATE_ACTION = "tokens.evaluate"


class OPRFEvaluator:
    """Evaluates members' blinded elements under the current key epoch."""

    def __init__(
        self,
        *,
        key_folder: Path,
        limiter: RateLimiter,
        policy: PolicyDecisionPoint,
        audit: AuditRecorder,
        clock: Callable[[], dt.datetime],
    ) -> None:
        OPRFKeyRing.load_or_create(key_folder)
        self._key_folder = key_folder
        self._limiter = limiter
        self._policy = policy
        self._audit = audit
        self._clock = clock

    def evaluate(
        self, member: Peer, blinded: Sequence[bytes], *, token_type: str, correlation_id: str
    ) -> tuple[int, list[bytes]]:
        """Evaluate one chunk; return the key epoch and the evaluated elements in order.

        Raises
        ------
        PolicyDenied
            When the member's role may not tokenise.
        RateLimited
            When the member's evaluation budget would be exceeded.
        InvalidInputError
            Naming the first element that is not a valid group element.

        """
        self._policy.authorize(member, EVALUATE_ACTION, {"token_type": token_type})
        self._limiter.charge(member.member_id, len(blinded), now=self._clock())
        # Read the ring on every chunk: `credgate bureau rotate-key` takes effect without a restart.
        key = OPRFKeyRing.load(self._key_folder).current
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
        return key.epoch, evaluated

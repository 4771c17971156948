"""The bureau relaying a subject-access request to every online member.

The bureau sees a token's ciphertext-free form here (the subject's own token,
presented by the relaying member with the subject's consent) and the sealed
envelopes; it cannot open them, and returns them in random order so the
relaying member cannot tell which member sent which.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from gateway.audit import AuditEvent, AuditRecorder, Outcome
from gateway.bureau import MemberView
from gateway.crypto.hpke import SealedBox
from gateway.errors import GatewayError, InvalidInputError
from gateway.identity.peer import Peer
from gateway.policy import PolicyDecisionPoint
from gateway.queries.inquiries.collector import CollectRequest
from gateway.queries.subject_check.messages import Coverage
from gateway.roles import Role

REQUEST_ACTION = "subject_inquiries.request"
_LOG = logging.getLogger(__name__)
ANSWERING_ROLES = frozenset({Role.BANK, Role.CONSUMER_FINANCE, Role.MICRO_LENDER, Role.AGENCY})


class InquiryCaller(Protocol):
    """Calls one member's ``CollectInquiries``; raises a ``GatewayError`` on failure."""

    def collect(self, member: MemberView, request: CollectRequest, *, timeout: float) -> SealedBox:
        """The member's sealed records."""


class InquiryRelay:
    """Fans a subject-access request out and gathers the sealed answers."""

    def __init__(
        self,
        *,
        members: Callable[[], Sequence[MemberView]],
        caller: InquiryCaller,
        policy: PolicyDecisionPoint,
        audit: AuditRecorder,
        clock: Callable[[], dt.datetime],
        liveness_window: dt.timedelta,
        timeout: float,
        rng: random.Random | None = None,
    ) -> None:
        self._members = members
        self._caller = caller
        self._policy = policy
        self._audit = audit
        self._clock = clock
        self._liveness = liveness_window
        self._timeout = timeout
        self._rng = rng or random.SystemRandom()
        self._pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="inquiries")

    def request(
        self, relayer: Peer, request: CollectRequest, *, consent_digest: bytes, correlation_id: str
    ) -> tuple[list[SealedBox], Coverage]:
        """Every online member's sealed records for the token, shuffled.

        Raises
        ------
        PolicyDenied
            When the relayer's role may not relay subject access.
        InvalidInputError
            When the consent digest is missing.

        """
        self._policy.authorize(relayer, REQUEST_ACTION)
        if len(consent_digest) != 32:
            raise InvalidInputError(
                "expected the SHA-256 of the subject's consent reference", field="consent_digest"
            )
        now = self._clock()
        live = [m for m in self._members() if m.role in ANSWERING_ROLES and m.online(now, self._liveness)]
        futures = {
            m.member_id: self._pool.submit(self._caller.collect, m, request, timeout=self._timeout)
            for m in live
        }
        envelopes: list[SealedBox] = []
        for member_id, future in futures.items():
            try:
                envelopes.append(future.result(timeout=self._timeout + 1))
            except (GatewayError, TimeoutError) as exc:
                # The answer's coverage states how many members answered.
                _LOG.warning("member %s did not return its inquiries: %s", member_id, exc)
        self._rng.shuffle(envelopes)
        coverage = Coverage(len(live), len(envelopes), 1, len(envelopes))
        self._audit.record(
            AuditEvent.for_peer(
                relayer,
                action=REQUEST_ACTION,
                outcome=Outcome.ALLOW,
                reason="subject access",
                correlation_id=correlation_id,
                details={"consent_digest": consent_digest.hex(), "members_answered": len(envelopes)},
            )
        )
        return envelopes, coverage

"""The bureau relaying a subject-access request to every online member.

The bureau never sees the token (issue #11): the relaying member seals it to each member
and signs a statement naming the subject's key, the consent digest and a lookup tag keyed
with the members' secret, which the bureau records but cannot compute for a resident ID.
The bureau checks the statement names the caller, rate-limits relayers, forwards each
member its sealed token with the statement, and returns the sealed answers in random
order so the relaying member cannot tell which member sent which.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

from gateway.audit import AuditEvent, AuditRecorder, Outcome
from gateway.bureau import MemberView
from gateway.bureau.rate_limit import RateLimiter
from gateway.crypto.hpke import SealedBox
from gateway.errors import GatewayError, InvalidInputError
from gateway.identity.peer import Peer
from gateway.policy import PolicyDecisionPoint
from gateway.queries.inquiries.collector import CollectRequest
from gateway.queries.inquiries.statement import AccessStatement
from gateway.queries.subject_check.messages import Coverage, SealedFor
from gateway.roles import Role

REQUEST_ACTION = "subject_inquiries.request"
_LOG = logging.getLogger(__name__)
ANSWERING_ROLES = frozenset({Role.BANK, Role.CONSUMER_FINANCE, Role.MICRO_LENDER, Role.AGENCY})


class InquiryCaller(Protocol):
    """Calls one member's ``CollectInquiries``; raises a ``GatewayError`` on failure."""

    def collect(self, member: MemberView, request: CollectRequest, *, timeout: float) -> SealedBox:
        """The member's sealed records."""


@dataclass(frozen=True)
class RelayRequest:
    """The relaying member's request: its signed statement and the token sealed to each member."""

    statement: bytes
    signature: bytes
    subject_public_key: bytes
    consent_digest: bytes
    sealed: tuple[SealedFor, ...]


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
        limiter: RateLimiter,
        rng: random.Random | None = None,
    ) -> None:
        self._limiter = limiter
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
        self, relayer: Peer, request: RelayRequest, *, correlation_id: str
    ) -> tuple[list[SealedBox], Coverage]:
        """Every online member's sealed records for the sealed token, shuffled.

        Raises
        ------
        PolicyDenied
            When the relayer's role may not relay subject access.
        InvalidInputError
            When the consent digest is missing or the statement does not name the caller,
            its subject key or its consent digest.
        RateLimited
            When the relayer exceeded its daily subject-access requests.

        """
        self._policy.authorize(relayer, REQUEST_ACTION)
        if len(request.consent_digest) != 32:
            raise InvalidInputError(
                "expected the SHA-256 of the subject's consent reference", field="consent_digest"
            )
        statement = AccessStatement.from_bytes(request.statement)
        if (statement.relayer, statement.subject_public_key, statement.consent_digest) != (
            relayer.member_id,
            request.subject_public_key,
            request.consent_digest,
        ):
            raise InvalidInputError(
                "must name the caller, the subject key and the consent digest", field="statement"
            )
        now = self._clock()
        self._limiter.charge(relayer.member_id, 1, now=now)
        sealed = {s.recipient: s for s in request.sealed}
        live = [
            m
            for m in self._members()
            if m.role in ANSWERING_ROLES and m.online(now, self._liveness) and m.member_id in sealed
        ]
        futures = {
            m.member_id: self._pool.submit(
                self._caller.collect,
                m,
                CollectRequest(
                    request.statement, request.signature, request.subject_public_key, sealed[m.member_id]
                ),
                timeout=self._timeout,
            )
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
                details={
                    "consent_digest": request.consent_digest.hex(),
                    "lookup_tag": statement.lookup_tag.hex()[:32],
                    "members_answered": len(envelopes),
                },
            )
        )
        return envelopes, coverage

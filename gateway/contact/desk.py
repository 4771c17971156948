"""The bureau's clearance desk: decide, reserve, settle, and take members' flags.

A clearance is decided in this order, and the first rule that applies is the answer
(``docs/contact.md`` gives the sources):

1. the tags' epoch must be the one the day's counters are pinned to (``tag_epoch``);
2. an agency must present a valid grant from the entrusting lender (``not_entrusted``);
3. no contact in the local quiet hours (``quiet_hours``), visits with enough collectors;
4. fail closed while a member that published flags yesterday has not published today's;
5. no contact while a deceased, dispute or do-not-contact flag stands, nor on a number
   whose holder asked to be left alone;
6. at most N connected calls per debtor and day and M unanswered attempts per number and
   day, counting open slots as used; a third party only while the debtor is unreachable;
7. otherwise a slot is reserved until it is settled or expires.

The whole decision, the reservation and the idempotency record are one transaction, so
two requests for the last slot are serialised and a retried request gets the same answer,
across a bureau restart too. Nothing here names a member that set a flag, and nothing is
audited with a tag.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

from sqlalchemy.orm import Session

from gateway.audit import AuditEvent, AuditRecorder, Outcome
from gateway.clock import Clock, local_date
from gateway.contact.grants import GrantInvalid, verify_grant
from gateway.contact.keys import day_from_number, local_day_number
from gateway.contact.messages import (
    RESERVATION_ID_BYTES,
    ClearanceAnswer,
    ClearanceRequest,
    FlagTag,
    OutcomeAnswer,
    OutcomeRecord,
)
from gateway.crypto.encoding import i2osp, length_prefixed_all
from gateway.crypto.signatures import SerialCheck
from gateway.errors import InvalidInputError, NotFoundError, PolicyDenied
from gateway.identity.peer import Peer, Role
from gateway.policy import PolicyDecisionPoint
from gateway.policy.contact_rules import CapScope, ContactRules
from gateway.store.database import Store
from gateway.store.enums import (
    ClearanceDecision,
    ContactChannel,
    ContactFlagKind,
    ContactParty,
    ReservationState,
)
from gateway.store.repositories.contact import BureauContactState, FlagRow, PriorAnswer
from gateway.tokens.oprf.keyring import OPRFKeyRing

__all__ = ["CLEAR_ACTION", "ClearanceDesk", "DeskSettings", "ServingEpoch"]

CLEAR_ACTION = "contact.clear"
RECORD_ACTION = "contact.record"
PUBLISH_ACTION = "contact.flags.publish"
_IDEMPOTENCY_KEY_BYTES = 16
_DEBTOR_FLAGS = {
    ContactFlagKind.DECEASED: ClearanceDecision.DECEASED,
    ContactFlagKind.DISPUTE: ClearanceDecision.DISPUTE_OR_DO_NOT_CONTACT,
    ContactFlagKind.DO_NOT_CONTACT: ClearanceDecision.DISPUTE_OR_DO_NOT_CONTACT,
}


class ServingEpoch:
    """The OPRF epoch the bureau evaluates under, re-read from its key ring every few seconds.

    Tokens of every member must be under the same epoch for their tags to meet in one counter;
    a request under another epoch is refused and the member re-tokenises.
    """

    def __init__(self, key_folder: Path, *, refresh_seconds: float = 5.0) -> None:
        self._folder = key_folder
        self._refresh = refresh_seconds
        self._read_at = -math.inf
        self._epoch = 0
        self._lock = threading.Lock()

    def __call__(self) -> int:
        """The current epoch (``credgate bureau rotate-key`` takes effect within seconds)."""
        with self._lock:
            if time.monotonic() - self._read_at > self._refresh:
                self._epoch = OPRFKeyRing.load(self._folder).current.epoch
                self._read_at = time.monotonic()
            return self._epoch


class DeskSettings:
    """What the desk needs besides the rules: the CA to check grants against and the OPRF epoch."""

    def __init__(
        self,
        *,
        ca_certificate_pem: bytes,
        revocations: SerialCheck | None,
        serving_token_epoch: Callable[[], int],
        random_bytes: Callable[[int], bytes] = os.urandom,
    ) -> None:
        self.ca_certificate_pem = ca_certificate_pem
        self.revocations = revocations
        self.serving_token_epoch = serving_token_epoch
        self.random_bytes = random_bytes


class ClearanceDesk:
    """The bureau's handler for ``ClearContact``, ``RecordContactOutcome`` and ``PublishContactFlags``.

    Parameters
    ----------
    store
        The bureau's store.
    rules
        ``policies/contact_rules.toml``.
    policy
        Decides ``contact.clear`` (who may clear, given whether an entrustment was shown).
    audit
        The bureau's audit log: every decision, never a tag.
    settings
        Trust anchor for grants and the serving OPRF epoch.
    clock
        The bureau's clock; rules are evaluated in its local time.

    """

    def __init__(
        self,
        *,
        store: Store,
        rules: ContactRules,
        policy: PolicyDecisionPoint,
        audit: AuditRecorder,
        settings: DeskSettings,
        clock: Clock,
    ) -> None:
        self._store = store
        self._rules = rules
        self._policy = policy
        self._audit = audit
        self._settings = settings
        self._clock = clock
        self._state = BureauContactState()
        self._purged_through: dt.date | None = None
        self._lock = threading.Lock()
        self._epochs: dict[dt.date, int] = {}
        self._flags_by_day: dict[dt.date, dict[bytes, list[FlagRow]]] = {}
        self._publishers_by_day: dict[dt.date, frozenset[str]] = {}

    # --- ClearContact ---------------------------------------------------------------------

    def clear(self, peer: Peer, request: ClearanceRequest, *, correlation_id: str) -> ClearanceAnswer:
        """Decide a clearance and, when granted, reserve its slot.

        Raises
        ------
        InvalidInputError
            When the request carries tokens, names another day or OPRF epoch, lacks a number
            tag for a call or SMS, or reuses an idempotency key for another request.

        """
        now = self._clock()
        day = local_date(now)
        self._validate(request, day)
        digest = _request_digest(request)
        self._purge_old_days(day)
        with self._store.transaction() as session:
            prior = self._state.prior_answer(session, peer.member_id, request.idempotency_key)
            if prior is not None:
                if prior.request_digest != digest:
                    raise InvalidInputError(
                        "this idempotency key was used for a different request",
                        field="header.idempotency_key",
                    )
                return _answer(prior, replayed=True)
            answer, scope = self._decide(session, peer, request, day, now)
            self._state.save_answer(
                session,
                requester=peer.member_id,
                idempotency_key=request.idempotency_key,
                day=day,
                answer=PriorAnswer(
                    digest,
                    answer.decision,
                    answer.reservation_id,
                    answer.expires_at,
                    answer.retry_after,
                    answer.tag_key_epoch,
                ),
                at=now,
            )
            self._audit.record(
                AuditEvent.for_peer(
                    peer,
                    action=CLEAR_ACTION,
                    outcome=Outcome.ALLOW if answer.granted else Outcome.DENY,
                    reason=answer.decision.value,
                    correlation_id=correlation_id,
                    details={
                        "channel": request.channel.value,
                        "party": request.party.value,
                        "scope_lender": scope or "-",
                    },
                )
            )
        return answer

    def _validate(self, request: ClearanceRequest, day: dt.date) -> None:
        if request.carried_tokens:
            raise InvalidInputError(
                "subject tokens are never sent to the bureau (it holds the OPRF key); send the day's tags",
                field="debtor",
            )
        if len(request.idempotency_key) != _IDEMPOTENCY_KEY_BYTES:
            raise InvalidInputError(
                f"expected {_IDEMPOTENCY_KEY_BYTES} bytes, received {len(request.idempotency_key)}",
                field="header.idempotency_key",
            )
        tags = request.tags
        if tags.local_day != local_day_number(day):
            raise InvalidInputError(
                f"expected tags for today's local day {day}, received {day_from_number(tags.local_day)}",
                field="tags.local_day",
            )
        serving = self._settings.serving_token_epoch()
        if tags.token_key_epoch != serving:
            raise InvalidInputError(
                f"expected tokens under the serving OPRF epoch {serving}, received {tags.token_key_epoch}",
                field="tags.token_key_epoch",
            )
        if request.channel in self._rules.number_channels and tags.number_tag is None:
            raise InvalidInputError(
                f"a {request.channel.value} contact names its number", field="tags.number_tag"
            )

    def _decide(
        self, session: Session, peer: Peer, request: ClearanceRequest, day: dt.date, now: dt.datetime
    ) -> tuple[ClearanceAnswer, str]:
        tags, rules = request.tags, self._rules
        pinned = self._pinned_epoch(session, day, offered=tags.tag_key_epoch, at=now)
        if pinned != tags.tag_key_epoch:
            return ClearanceAnswer(ClearanceDecision.TAG_EPOCH, tag_key_epoch=pinned), ""
        lender, entrusted = self._entrustment(peer, request, day, now)
        scope = lender if rules.cap_scope is CapScope.LENDER else ""
        if not self._policy.decide(peer, CLEAR_ACTION, {"entrusted": entrusted}).allowed:
            return self._deny(ClearanceDecision.NOT_ENTRUSTED, pinned), lender
        if request.channel in rules.quiet_hours_channels and rules.quiet_at(now):
            return self._deny(ClearanceDecision.QUIET_HOURS, pinned, rules.quiet_ends_after(now)), lender
        if request.channel is ContactChannel.VISIT and request.collectors < rules.visit_min_collectors:
            return self._deny(ClearanceDecision.VISIT_COLLECTORS, pinned), lender
        if rules.bureau.flags_fail_closed and self._flags_missing(session, day):
            return self._deny(ClearanceDecision.FLAGS_UNAVAILABLE, pinned), lender
        flagged = self._flag_decision(session, peer, request, day, lender)
        if flagged is not None:
            return self._deny(flagged, pinned, rules.next_day_opening(now)), lender
        counted = request.channel in rules.call_channels
        self._state.lock_counters(
            session,
            [day.isoformat().encode() + scope.encode() + t for t in (tags.debtor_tag, tags.number_tag) if t],
        )
        if counted:
            refusal = self._caps(session, request, day, scope, now)
            if refusal is not None:
                return refusal, lender
        if request.party is ContactParty.THIRD_PARTY:
            connected, unanswered = self._state.debtor_reach(session, day, scope, tags.debtor_tag)
            if connected > 0 or unanswered < rules.third_party_after_unanswered:
                return self._deny(ClearanceDecision.THIRD_PARTY, pinned), lender
        reservation_id = self._settings.random_bytes(RESERVATION_ID_BYTES)
        expires_at = min(now + dt.timedelta(seconds=rules.reservation_seconds), rules.quiet_starts_after(now))
        self._state.add_reservation(
            session,
            reservation_id=reservation_id,
            day=day,
            requester=peer.member_id,
            scope=scope,
            debtor_tag=tags.debtor_tag,
            number_tag=tags.number_tag,
            channel=request.channel,
            party=request.party,
            counts_call=counted,
            granted_at=now,
            expires_at=expires_at,
        )
        return (
            ClearanceAnswer(
                ClearanceDecision.GRANTED,
                reservation_id=reservation_id,
                expires_at=expires_at,
                tag_key_epoch=pinned,
            ),
            lender,
        )

    def _deny(
        self, decision: ClearanceDecision, epoch: int, retry_after: dt.datetime | None = None
    ) -> ClearanceAnswer:
        return ClearanceAnswer(decision, retry_after=retry_after, tag_key_epoch=epoch)

    def _entrustment(
        self, peer: Peer, request: ClearanceRequest, day: dt.date, now: dt.datetime
    ) -> tuple[str, bool]:
        """The lender whose collection this is, and whether the caller showed it may act for it."""
        if peer.role.is_lender:
            return peer.member_id, True
        grant = request.grant
        if peer.role is not Role.AGENCY or grant is None:
            return "", False
        try:
            verify_grant(
                grant,
                ca_certificate_pem=self._settings.ca_certificate_pem,
                now=now,
                revocations=self._settings.revocations,
            )
        except GrantInvalid:
            return "", False
        tags = request.tags
        matches = (
            grant.agency_member_id == peer.member_id
            and grant.local_day == local_day_number(day)
            and grant.local_day == tags.local_day
            and grant.tag_key_epoch == tags.tag_key_epoch
            and grant.debtor_tag == tags.debtor_tag
            and request.channel in grant.channels
            and (request.party is ContactParty.DEBTOR or grant.third_party_allowed)
        )
        return grant.lender_member_id, matches

    # The bureau runs as one process and is the only writer of its contact tables, so the day's
    # pinned epoch, flags and publishers are read once and kept in memory until a member
    # publishes (which replaces them) or the day passes.

    def _pinned_epoch(self, session: Session, day: dt.date, *, offered: int, at: dt.datetime) -> int:
        with self._lock:
            if day in self._epochs:
                return self._epochs[day]
        pinned = self._state.pinned_epoch(session, day, offered=offered, at=at)
        with self._lock:
            self._epochs[day] = pinned
        return pinned

    def _flags_missing(self, session: Session, day: dt.date) -> bool:
        return bool(self._publishers(session, day - dt.timedelta(days=1)) - self._publishers(session, day))

    def _publishers(self, session: Session, day: dt.date) -> frozenset[str]:
        with self._lock:
            cached = self._publishers_by_day.get(day)
        if cached is None:
            cached = frozenset(self._state.publishers(session, day))
            with self._lock:
                self._publishers_by_day[day] = cached
        return cached

    def _day_flags(self, session: Session, day: dt.date) -> dict[bytes, list[FlagRow]]:
        with self._lock:
            cached = self._flags_by_day.get(day)
        if cached is None:
            cached = {}
            for row in self._state.day_flags(session, day):
                cached.setdefault(row.tag, []).append(row)
            with self._lock:
                self._flags_by_day[day] = cached
        return cached

    def _forget(self, day: dt.date) -> None:
        with self._lock:
            self._flags_by_day.pop(day, None)
            self._publishers_by_day.pop(day, None)
            self._epochs.pop(day, None)

    def _flag_decision(
        self, session: Session, peer: Peer, request: ClearanceRequest, day: dt.date, lender: str
    ) -> ClearanceDecision | None:
        tags = request.tags
        standing = self._day_flags(session, day)
        found = standing.get(tags.debtor_tag, []) + (
            standing.get(tags.number_tag, []) if tags.number_tag else []
        )
        applies = [f for f in found if f.scope_lender in ("", lender)]
        on_debtor = [f for f in applies if f.tag == tags.debtor_tag]
        for kind in (ContactFlagKind.DECEASED, ContactFlagKind.DISPUTE, ContactFlagKind.DO_NOT_CONTACT):
            if any(f.kind is kind for f in on_debtor):
                return _DEBTOR_FLAGS[kind]
        if any(
            f.kind is ContactFlagKind.ENTRUSTMENT_ENDED and f.agency_member_id == peer.member_id
            for f in on_debtor
        ):
            return ClearanceDecision.NOT_ENTRUSTED
        on_number = [f for f in applies if tags.number_tag is not None and f.tag == tags.number_tag]
        if any(f.kind is ContactFlagKind.THIRD_PARTY_REFUSED for f in on_number):
            return ClearanceDecision.THIRD_PARTY
        return None

    def _caps(
        self, session: Session, request: ClearanceRequest, day: dt.date, scope: str, now: dt.datetime
    ) -> ClearanceAnswer | None:
        rules, tags = self._rules, request.tags
        epoch = tags.tag_key_epoch
        if (
            self._state.calls_in_use(session, day, scope, tags.debtor_tag, now)
            >= rules.connected_calls_per_debtor_per_day
        ):
            retry = self._state.earliest_open_expiry(
                session, day, scope, tag=tags.debtor_tag, on_number=False, now=now
            )
            return self._deny(ClearanceDecision.CONNECTED_CAP, epoch, retry or rules.next_day_opening(now))
        if tags.number_tag is not None and (
            self._state.unanswered_in_use(session, day, scope, tags.number_tag, now)
            >= rules.unanswered_attempts_per_number_per_day
        ):
            retry = self._state.earliest_open_expiry(
                session, day, scope, tag=tags.number_tag, on_number=True, now=now
            )
            return self._deny(ClearanceDecision.UNANSWERED_CAP, epoch, retry or rules.next_day_opening(now))
        return None

    def _purge_old_days(self, day: dt.date) -> None:
        with self._lock:
            if self._purged_through == day:
                return
            self._purged_through = day
        cutoff = day - dt.timedelta(days=self._rules.bureau.retention_days)
        with self._store.transaction() as session:
            self._state.purge_before(session, cutoff)
        with self._lock:
            for cache in (self._epochs, self._flags_by_day, self._publishers_by_day):
                for old in [d for d in cache if d < cutoff]:
                    del cache[old]

    # --- RecordContactOutcome ---------------------------------------------------------------

    def record(self, peer: Peer, record: OutcomeRecord, *, correlation_id: str) -> OutcomeAnswer:
        """Settle a reservation with what happened; a repeat of the same outcome counts once.

        Raises
        ------
        NotFoundError
            When the caller holds no reservation with that id.
        InvalidInputError
            When the reservation was already settled with another outcome.

        """
        now = self._clock()
        wanted = (
            ReservationState.RELEASED
            if record.released
            else ReservationState.CONNECTED
            if record.connected
            else ReservationState.UNANSWERED
        )
        with self._store.transaction() as session:
            row = self._state.reservation(session, record.reservation_id)
            if row is None or row.requester_member_id != peer.member_id:
                raise NotFoundError(
                    "reservation_id: this member holds no such reservation", reason="no_reservation"
                )
            if row.state is not ReservationState.OPEN:
                if row.state is wanted:
                    return OutcomeAnswer(recorded=True, already_recorded=True)
                raise InvalidInputError(f"already recorded as {row.state.value}", field="reservation_id")
            late = now > row.expires_at
            self._state.settle(session, record.reservation_id, wanted, at=now, late=late)
            self._audit.record(
                AuditEvent.for_peer(
                    peer,
                    action=RECORD_ACTION,
                    outcome=Outcome.ALLOW,
                    reason=wanted.value + (" late" if late else ""),
                    correlation_id=correlation_id,
                    details={"channel": row.channel.value},
                )
            )
        return OutcomeAnswer(recorded=True, late=late)

    # --- PublishContactFlags ------------------------------------------------------------------

    def publish_flags(
        self, peer: Peer, *, local_day: int, tag_key_epoch: int, flags: Sequence[FlagTag], correlation_id: str
    ) -> int:
        """Replace the caller's flags for a day (today or tomorrow); return how many it holds now.

        Raises
        ------
        InvalidInputError
            When the day is neither today nor tomorrow, the epoch is not the day's, or a flag
            scoped to one lender is published by another lender.
        PolicyDenied
            When the caller is not a lender or an agency.

        """
        if not (peer.role.is_lender or peer.role is Role.AGENCY):
            raise PolicyDenied(f"contact flags are published by lenders and agencies, not {peer.role.value}")
        now = self._clock()
        today = local_date(now)
        day = day_from_number(local_day)
        if day not in (today, today + dt.timedelta(days=1)):
            raise InvalidInputError(
                f"expected today ({today}) or tomorrow, received {day}", field="local_day"
            )
        for flag in flags:
            if peer.role.is_lender and flag.scope_lender not in (None, peer.member_id):
                raise InvalidInputError(
                    "a lender scopes flags to its own collection", field="flags.scope_lender"
                )
            if flag.kind is ContactFlagKind.ENTRUSTMENT_ENDED and (
                not peer.role.is_lender or not flag.agency
            ):
                raise InvalidInputError(
                    "only the entrusting lender ends an entrustment, naming the agency", field="flags.kind"
                )
        with self._store.transaction() as session:
            pinned = self._pinned_epoch(session, day, offered=tag_key_epoch, at=now)
            if pinned != tag_key_epoch:
                raise InvalidInputError(
                    f"the counters of {day} are keyed under epoch {pinned}, received {tag_key_epoch}",
                    field="tag_key_epoch",
                )
            rows = [FlagRow(f.tag, f.kind, f.scope_lender or "", f.agency or "") for f in flags]
            self._state.replace_flags(
                session, day=day, publisher=peer.member_id, epoch=pinned, flags=rows, at=now
            )
            self._audit.record(
                AuditEvent.for_peer(
                    peer,
                    action=PUBLISH_ACTION,
                    outcome=Outcome.ALLOW,
                    reason="replaced",
                    correlation_id=correlation_id,
                    details={"local_day": day.isoformat(), "flags": len(rows)},
                )
            )
        self._forget(day)
        return len(flags)

    def decision_counts(self, day: dt.date) -> Counter[ClearanceDecision]:
        """How many clearances each rule decided on ``day`` (for operators and the demo)."""
        with self._store.transaction() as session:
            return self._state.decision_counts(session, day)


def _answer(prior: PriorAnswer, *, replayed: bool) -> ClearanceAnswer:
    return ClearanceAnswer(
        prior.decision,
        reservation_id=prior.reservation_id,
        expires_at=prior.expires_at,
        retry_after=prior.retry_after,
        tag_key_epoch=prior.tag_key_epoch,
        replayed=replayed,
    )


def _request_digest(request: ClearanceRequest) -> bytes:
    """SHA-256 over the request's canonical fields (a reused key must name the same request)."""
    tags = request.tags
    grant = request.grant
    parts = [
        request.channel.value.encode(),
        request.party.value.encode(),
        i2osp(tags.local_day, 4),
        i2osp(tags.tag_key_epoch, 4),
        i2osp(tags.token_key_epoch, 4),
        tags.debtor_tag,
        tags.number_tag or b"",
        i2osp(request.collectors, 4),
        grant.signature if grant is not None else b"",
    ]
    return hashlib.sha256(b"credgate/v1/contact-request" + length_prefixed_all(parts)).digest()

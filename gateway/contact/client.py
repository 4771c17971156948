"""The member-side library dialers call: clear a contact, then record what happened.

::

    clearance = contacts.clear("ACC-1", number="13800138000", channel=ContactChannel.PHONE)
    if clearance.granted:
        ...dial...
        contacts.record(clearance, connected=True, attempted_at=clock())

The library turns the account into the day's keyed tags on this node (the resident ID and the
number are tokenised through the bureau's blind OPRF and never leave the node), attaches the
entrusting lender's grant when this member is an agency, asks the bureau, retries with the same
idempotency key while the bureau is unreachable (a bureau restart loses no reservation and
double-counts none), and keeps its own log of every decision and outcome.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from gateway.clock import Clock, local_date
from gateway.contact.keys import DailyKeyProvider, debtor_tag, local_day_number, number_tag
from gateway.contact.messages import (
    ClearanceAnswer,
    ClearanceRequest,
    ContactTags,
    EntrustmentGrant,
    FlagTag,
    OutcomeAnswer,
    OutcomeRecord,
)
from gateway.contact.tokens import Tokeniser, debtor_tokens
from gateway.errors import GatewayError, InvalidInputError, UnavailableError
from gateway.identifiers import normalise_mobile
from gateway.identity.peer import Peer, Role
from gateway.policy.contact_rules import ContactRules
from gateway.store.database import Store
from gateway.store.enums import ClearanceDecision, ContactChannel, ContactParty, ReservationState, TokenType
from gateway.store.repositories.contact_member import (
    AccountForContact,
    ClearanceLog,
    GrantRecord,
    Grants,
    account_for_contact,
)

__all__ = ["Clearance", "ContactClearanceClient", "ContactTransport"]

_LOG = logging.getLogger(__name__)
# Reasons a bureau answer may carry that a retry of the same request can clear.
_TRANSIENT = frozenset({"unavailable", "store_failed"})
T = TypeVar("T")


class ContactTransport(Protocol):
    """The bureau's contact-clearance RPCs (``gateway.node.contact_calls.GrpcContactTransport``)."""

    def clear(self, request: ClearanceRequest) -> ClearanceAnswer:
        """Ask for a clearance."""

    def record(self, record: OutcomeRecord) -> OutcomeAnswer:
        """Send an outcome."""

    def publish_flags(self, local_day: int, tag_key_epoch: int, flags: Sequence[FlagTag]) -> int:
        """Replace this member's flags for a day."""


@dataclass(frozen=True)
class Clearance:
    """A decision as the dialer sees it, with what it needs to record the outcome."""

    account_ref: str
    channel: ContactChannel
    party: ContactParty
    answer: ClearanceAnswer
    # The number dialled (stays on this node); None for a visit or letter.
    number: str | None
    idempotency_key: bytes

    @property
    def granted(self) -> bool:
        """Whether the contact may go ahead now."""
        return self.answer.granted

    @property
    def decision(self) -> ClearanceDecision:
        """The rule that decided."""
        return self.answer.decision


class ContactClearanceClient:
    """Clearances and outcomes for one member node.

    Parameters
    ----------
    me
        This member, as its certificate names it.
    store
        This member's store (accounts, tokens, grants, its clearance log).
    tokeniser
        Blind OPRF through the bureau, for tokens the store does not hold yet.
    day_keys
        Per-day keys from the members-only secret.
    transport
        The bureau's RPCs.
    rules
        ``policies/contact_rules.toml`` (local checks before asking).
    clock
        This node's clock.
    retry_seconds
        How long to keep retrying, with the same idempotency key, while the bureau is unreachable.
    sleep
        How to wait between retries (tests pass a fake).

    """

    def __init__(
        self,
        *,
        me: Peer,
        store: Store,
        tokeniser: Tokeniser,
        day_keys: DailyKeyProvider,
        transport: ContactTransport,
        rules: ContactRules,
        clock: Clock,
        retry_seconds: float = 120.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._me = me
        self._store = store
        self._tokeniser = tokeniser
        self._keys = day_keys
        self._transport = transport
        self._rules = rules
        self._clock = clock
        self._retry_seconds = retry_seconds
        self._sleep = sleep
        self._log = ClearanceLog(store)
        self._grants = Grants(store)
        self._numbers: dict[str, tuple[int, bytes]] = {}
        self._debtors: dict[int, tuple[int, bytes]] = {}
        self._day_grants: dict[int, dict[tuple[bytes, str], GrantRecord]] = {}
        self._accounts: dict[str, AccountForContact] = {}
        self._lock = threading.Lock()
        self._token_lock = threading.Lock()

    # --- preparation -----------------------------------------------------------------------

    def prepare(self, account_refs: Iterable[str] = (), numbers: Iterable[str] = ()) -> None:
        """Tokenise, in bulk, the debtors and numbers a campaign will clear (optional, faster)."""
        accounts = [self._account(ref) for ref in account_refs]
        self._debtor_tokens(accounts)
        self._number_tokens([normalise_mobile(n, field="number") for n in numbers])

    # --- clear -------------------------------------------------------------------------------

    def clear(
        self,
        account_ref: str,
        *,
        channel: ContactChannel,
        number: str | None = None,
        party: ContactParty = ContactParty.DEBTOR,
        collectors: int = 1,
    ) -> Clearance:
        """Ask whether a contact on ``account_ref`` may happen now.

        Parameters
        ----------
        account_ref
            The account in this member's store (an agency's copy of an entrusted account).
        channel
            Phone, SMS, AI voice, visit...
        number
            The number to be called or texted (required for calls and SMS); the debtor's own
            when ``party`` is the debtor, a relative's or employer's for a third party.
        party
            Who is to be reached.
        collectors
            For a visit: how many collectors attend.

        Raises
        ------
        InvalidInputError
            When a call or SMS names no number, or the number is malformed.
        NotFoundError
            When this member holds no such account.
        UnavailableError
            When the bureau stayed unreachable for ``retry_seconds``.

        """
        now = self._clock()
        day = local_date(now)
        account = self._account(account_ref)
        if channel in self._rules.number_channels and number is None:
            raise InvalidInputError(f"a {channel.value} contact needs the number", field="number")
        normalised = None if number is None else normalise_mobile(number, field="number")
        key = os.urandom(16)
        if not self._may_act_for(account, day):
            answer = ClearanceAnswer(ClearanceDecision.NOT_ENTRUSTED)
        else:
            answer = self._ask(account, day, channel, normalised, party, collectors, key)
        self._log.add(
            idempotency_key=key,
            account_id=account.account_id,
            requested_at=now,
            local_day=day,
            channel=channel,
            party=party,
            decision=answer.decision,
            reservation_id=answer.reservation_id,
            expires_at=answer.expires_at,
        )
        return Clearance(account_ref, channel, party, answer, normalised, key)

    def _may_act_for(self, account: AccountForContact, day: dt.date) -> bool:
        if self._me.role is Role.AGENCY:
            expires = account.entrustment_expires_on
            return account.entrusted_by is not None and (expires is None or expires >= day)
        return account.entrusted_by is None

    def _ask(
        self,
        account: AccountForContact,
        day: dt.date,
        channel: ContactChannel,
        number: str | None,
        party: ContactParty,
        collectors: int,
        key: bytes,
    ) -> ClearanceAnswer:
        epoch = self._keys.current_epoch()
        for _ in range(2):
            request = self._request(account, day, channel, number, party, collectors, key, epoch)
            if request is None:
                return ClearanceAnswer(ClearanceDecision.NOT_ENTRUSTED)
            answer = self._with_retries(lambda r=request: self._transport.clear(r))  # type: ignore[misc]
            pinned = answer.tag_key_epoch
            if (
                answer.decision is not ClearanceDecision.TAG_EPOCH
                or not self._keys.holds(pinned)
                or pinned == epoch
            ):
                return answer
            # The day's counters are keyed under an epoch this member also holds: ask again.
            epoch, key = pinned, os.urandom(16)
        return answer

    def _request(
        self,
        account: AccountForContact,
        day: dt.date,
        channel: ContactChannel,
        number: str | None,
        party: ContactParty,
        collectors: int,
        key: bytes,
        epoch: int,
    ) -> ClearanceRequest | None:
        token_epoch, token = self._debtor_tokens([account])[account.borrower_id]
        day_key = self._keys.key_for(day, epoch=epoch)
        number_value = None
        if number is not None:
            number_epoch, number_token = self._number_tokens([number])[number]
            if number_epoch != token_epoch:
                raise UnavailableError("the bureau rotated its OPRF key during this request; ask again")
            number_value = number_tag(day_key, number_token)
        tags = ContactTags(
            local_day=local_day_number(day),
            tag_key_epoch=epoch,
            token_key_epoch=token_epoch,
            debtor_tag=debtor_tag(day_key, token),
            number_tag=number_value,
        )
        grant = None
        if self._me.role is Role.AGENCY:
            assert account.entrusted_by is not None  # checked by _may_act_for
            grant = self._grant(tags, account.entrusted_by)
            if grant is None:
                return None
        return ClearanceRequest(key, channel, party, tags, grant, collectors)

    def _grant(self, tags: ContactTags, lender: str) -> EntrustmentGrant | None:
        with self._lock:
            day = self._day_grants.get(tags.local_day)
        if day is None or (tags.debtor_tag, lender) not in day:
            # The day's grants are read once; a miss re-reads (grants imported meanwhile).
            day = self._grants.for_day(tags.local_day)
            with self._lock:
                self._day_grants = {tags.local_day: day}
        record = day.get((tags.debtor_tag, lender))
        if record is None or record.tag_key_epoch != tags.tag_key_epoch:
            return None
        return EntrustmentGrant(
            lender_member_id=record.lender_member_id,
            agency_member_id=record.agency_member_id,
            local_day=record.local_day,
            tag_key_epoch=record.tag_key_epoch,
            debtor_tag=record.debtor_tag,
            channels=record.channels,
            third_party_allowed=record.third_party_allowed,
            lender_certificate_der=record.lender_certificate,
            signature=record.signature,
            version=record.version,
        )

    # --- record ----------------------------------------------------------------------------

    def record(self, clearance: Clearance, *, connected: bool, attempted_at: dt.datetime) -> OutcomeAnswer:
        """Settle a granted contact with its outcome (connected or not).

        Raises
        ------
        InvalidInputError
            When the clearance was not granted.
        UnavailableError
            When the bureau stayed unreachable for ``retry_seconds``.

        """
        return self.settle(
            _reservation(clearance),
            connected=connected,
            released=False,
            attempted_at=attempted_at,
            number=clearance.number,
        )

    def release(self, clearance: Clearance) -> OutcomeAnswer:
        """Give a granted slot back without contacting anyone."""
        return self.settle(
            _reservation(clearance), connected=False, released=True, attempted_at=None, number=None
        )

    def settle(
        self,
        reservation_id: bytes,
        *,
        connected: bool,
        released: bool,
        attempted_at: dt.datetime | None,
        number: str | None = None,
    ) -> OutcomeAnswer:
        """Settle a reservation by id (``credgate contact record``): tell the bureau, then log it here.

        Raises
        ------
        NotFoundError
            When the bureau or this member's log knows no such reservation of this member.
        UnavailableError
            When the bureau stayed unreachable for ``retry_seconds``.

        """
        record = OutcomeRecord(reservation_id, connected, attempted_at, released)
        answer = self._with_retries(lambda: self._transport.record(record))
        state = (
            ReservationState.RELEASED
            if released
            else ReservationState.CONNECTED
            if connected
            else ReservationState.UNANSWERED
        )
        self._log.settle(
            reservation_id,
            state,
            at=self._clock(),
            attempted_at=attempted_at or self._clock(),
            contact_number=number,
            agency=self._me.member_id if self._me.role is Role.AGENCY else None,
        )
        return answer

    # --- helpers -----------------------------------------------------------------------------

    def _with_retries(self, call: Callable[[], T]) -> T:
        """Call, retrying the same request (and so the same idempotency key) while needed.

        Retried while the bureau is unreachable or its store momentarily busy: the bureau
        answers a repeat as it answered the first, so a retry never reserves or counts twice.
        """
        deadline = time.monotonic() + self._retry_seconds
        wait = 0.1
        while True:
            try:
                return call()
            except GatewayError as exc:
                if not (isinstance(exc, UnavailableError) or exc.reason in _TRANSIENT):
                    raise
                if time.monotonic() + wait > deadline:
                    raise
                _LOG.warning(
                    "bureau unreachable or busy (%s); retrying the same request in %.1f s", exc.reason, wait
                )
                self._sleep(wait)
                wait = min(wait * 2, 2.0)

    def _account(self, account_ref: str) -> AccountForContact:
        with self._lock:
            cached = self._accounts.get(account_ref)
        if cached is None:
            cached = account_for_contact(self._store, account_ref)
            with self._lock:
                self._accounts[account_ref] = cached
        return cached

    def _debtor_tokens(self, accounts: Sequence[AccountForContact]) -> dict[int, tuple[int, bytes]]:
        """``borrower_id → (OPRF epoch, resident-ID token)``, tokenising what the store lacks."""
        wanted = {a.borrower_id for a in accounts}
        with self._lock:
            known = {b: self._debtors[b] for b in wanted if b in self._debtors}
        if len(known) == len(wanted):
            return known
        with self._token_lock:  # two dialer threads must not tokenise the same debtor twice
            epoch, found = debtor_tokens(self._store, self._tokeniser, sorted(wanted), now=self._clock())
        tokens = {b: (epoch, token) for b, token in found.items()}
        with self._lock:
            self._debtors.update(tokens)
        return tokens

    def _number_tokens(self, numbers: Sequence[str]) -> dict[str, tuple[int, bytes]]:
        with self._lock:
            missing = sorted({n for n in numbers if n not in self._numbers})
        if missing:
            epoch, tokens = self._tokeniser.tokenise(TokenType.MOBILE, missing)
            with self._lock:
                self._numbers.update({n: (epoch, t) for n, t in zip(missing, tokens, strict=True)})
        with self._lock:
            return {n: self._numbers[n] for n in numbers}


def _reservation(clearance: Clearance) -> bytes:
    if not clearance.granted or clearance.answer.reservation_id is None:
        raise InvalidInputError("only a granted clearance has an outcome to record", field="clearance")
    return clearance.answer.reservation_id

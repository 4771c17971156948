"""Flags that stop contact: set at a member, applied by the bureau without it learning whom.

A member sets a flag (a dispute, a do-not-contact request, a death, a third party who asked
to be left alone, or the early end of an entrustment) with its provenance and expiry; the flag
stays in the member's store. For every day a flag stands the member publishes the day's tag of
the debtor (or the number), never a token, in one batch that replaces its previous batch for
that day. The batch is padded with random tags up to a power of two per kind and sorted, so
its size and order say little, and tags of different days cannot be linked. The bureau refuses
contact on a flagged tag and answers with the kind of flag only, never the member that set it.

The node publishes today's batch when it starts, whenever its flags change and at the start of
each day, and tomorrow's from the policy's evening hour, so a node that is down at midnight
does not leave a gap (``policies/contact_rules.toml`` ``[bureau]``).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
from collections import defaultdict
from collections.abc import Callable, Sequence

from gateway.clock import Clock, local_date
from gateway.contact.client import ContactTransport
from gateway.contact.keys import DailyKeyProvider, debtor_tag, local_day_number, number_tag
from gateway.contact.messages import FlagTag
from gateway.contact.tokens import Tokeniser, debtor_tokens
from gateway.errors import GatewayError, InvalidInputError
from gateway.identifiers import normalise_mobile
from gateway.identity.peer import Peer, Role
from gateway.policy.contact_rules import ContactRules, FlagScope
from gateway.store.database import Store
from gateway.store.enums import ContactFlagKind, TokenType
from gateway.store.repositories.contact_member import ContactFlags, FlagRecord, account_for_contact

__all__ = ["FlagPublisher", "set_flag"]

_LOG = logging.getLogger(__name__)


def set_flag(
    store: Store,
    me: Peer,
    *,
    flag_ref: str,
    kind: ContactFlagKind,
    rules: ContactRules,
    account_ref: str | None,
    number: str | None,
    provenance: str,
    expires_on: dt.date,
    agency: str | None,
    now: dt.datetime,
) -> FlagRecord:
    """Record a flag at this member; the next publication takes it to the bureau.

    Parameters
    ----------
    store, me
        This member's store and identity (the flag's ``set_by``).
    flag_ref
        A reference unique at this member.
    kind
        Dispute, do-not-contact, deceased, third party's refusal, entrustment ended.
    rules
        Decide whether the flag stops one lender's collection or everyone's.
    account_ref
        The flagged debtor's account (every kind but a third party's refusal).
    number
        The third party's number (``third_party_refused`` only).
    provenance
        Where the flag comes from (letter, court notice, call reference); stays here.
    expires_on
        Last local day the flag stands.
    agency
        ``entrustment_ended`` only: the agency whose grants stop counting.
    now
        When the flag is set.

    Raises
    ------
    InvalidInputError
        When the kind and its target do not match, the expiry is past, or an agency tries to
        end an entrustment.

    """
    if expires_on < local_date(now):
        raise InvalidInputError("the flag would already have expired", field="expires_on")
    borrower_id: int | None = None
    lender: str | None = None
    if account_ref is not None:
        account = account_for_contact(store, account_ref)
        borrower_id = account.borrower_id
        lender = account.entrusted_by or me.member_id
    if kind is ContactFlagKind.ENTRUSTMENT_ENDED and (not me.role.is_lender or agency is None):
        raise InvalidInputError(
            "only the entrusting lender ends an entrustment, naming the agency", field="kind"
        )
    if rules.flag_scopes.of(kind) is FlagScope.LENDER:
        scope = lender if lender is not None else (me.member_id if me.role.is_lender else None)
        if scope is None:
            raise InvalidInputError(
                "a flag on one lender's collection names the account", field="account_ref"
            )
    else:
        scope = None
    record = FlagRecord(
        flag_ref=flag_ref,
        kind=kind,
        borrower_id=borrower_id,
        contact_number=None if number is None else normalise_mobile(number, field="number"),
        scope_lender=scope,
        agency_member_id=agency if kind is ContactFlagKind.ENTRUSTMENT_ENDED else None,
        set_by_member_id=me.member_id,
        provenance=provenance,
        set_at=now,
        expires_on=expires_on,
        lifted_at=None,
    )
    ContactFlags(store).add(record)
    return record


class FlagPublisher:
    """Builds and publishes this member's daily flag batches.

    Parameters
    ----------
    me
        This member.
    store, tokeniser, day_keys, transport, rules, clock
        As for :class:`gateway.contact.client.ContactClearanceClient`.
    random_bytes
        Source of the padding tags.

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
        random_bytes: Callable[[int], bytes] = os.urandom,
    ) -> None:
        self._me = me
        self._store = store
        self._tokeniser = tokeniser
        self._keys = day_keys
        self._transport = transport
        self._rules = rules
        self._clock = clock
        self._random = random_bytes
        self._flags = ContactFlags(store)
        self._published: dict[dt.date, tuple[int, str]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def batch(self, day: dt.date) -> list[FlagTag]:
        """The padded, sorted batch of tags for every flag standing on ``day``."""
        epoch = self._keys.current_epoch()
        day_key = self._keys.key_for(day, epoch=epoch)
        standing = self._flags.standing(day, zone=self._rules.zone)
        tags: list[FlagTag] = []
        debtors = [f.borrower_id for f in standing if f.borrower_id is not None]
        tokens = self._resident_tokens(debtors)
        numbers = sorted({f.contact_number for f in standing if f.contact_number is not None})
        number_tokens = (
            dict(zip(numbers, self._tokeniser.tokenise(TokenType.MOBILE, numbers)[1], strict=True))
            if numbers
            else {}
        )
        for flag in standing:
            if flag.borrower_id is not None:
                tag = debtor_tag(day_key, tokens[flag.borrower_id])
            else:
                assert flag.contact_number is not None  # enforced when the flag was set
                tag = number_tag(day_key, number_tokens[flag.contact_number])
            tags.append(FlagTag(tag, flag.kind, flag.scope_lender, flag.agency_member_id))
        return sorted(self._padded(tags), key=lambda f: f.tag)

    def _padded(self, tags: list[FlagTag]) -> list[FlagTag]:
        groups: dict[tuple[ContactFlagKind, str | None, str | None], int] = defaultdict(int)
        for flag in tags:
            groups[(flag.kind, flag.scope_lender, flag.agency)] += 1
        for kind in (ContactFlagKind.DISPUTE, ContactFlagKind.DO_NOT_CONTACT, ContactFlagKind.DECEASED):
            scope = (
                self._me.member_id
                if self._me.role.is_lender and self._rules.flag_scopes.of(kind) is FlagScope.LENDER
                else None
            )
            groups.setdefault((kind, scope, None), 0)
        padded = list(tags)
        minimum = self._rules.bureau.flag_padding_minimum
        for (kind, scope, agency), count in groups.items():
            target = max(minimum, 1 << max(count - 1, 0).bit_length()) if count or minimum else 0
            padded.extend(FlagTag(self._random(32), kind, scope, agency) for _ in range(target - count))
        return padded

    def publish(self, day: dt.date) -> int:
        """Publish the batch for ``day`` (today or tomorrow); returns how many tags were sent.

        Raises
        ------
        GatewayError
            The bureau's refusal or unavailability.

        """
        version = self._flags.version()
        flags = self.batch(day)
        sent = self._transport.publish_flags(local_day_number(day), self._keys.current_epoch(), flags)
        self._published[day] = version
        _LOG.info("published %d contact flag tags for %s", len(flags), day)
        return sent

    def tick(self) -> None:
        """Publish today's batch when due, and tomorrow's from the evening hour on."""
        if self._me.role is not Role.AGENCY and not self._me.role.is_lender:
            return
        now = self._clock()
        today = local_date(now)
        version = self._flags.version()
        due = [today]
        if now.astimezone(self._rules.zone).hour >= self._rules.bureau.publish_next_day_from_hour:
            due.append(today + dt.timedelta(days=1))
        for day in due:
            if self._published.get(day) != version:
                self.publish(day)
        for day in [d for d in self._published if d < today]:
            del self._published[day]

    def start(self, interval_seconds: float) -> None:
        """Tick in the background every ``interval_seconds`` until :meth:`stop`."""

        def run() -> None:
            while not self._stop.is_set():
                try:
                    self.tick()
                except GatewayError as exc:
                    _LOG.warning("contact flags not published yet: %s", exc.message)
                self._stop.wait(interval_seconds)

        self._thread = threading.Thread(target=run, name="contact-flags", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the background publisher."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=15)

    def _resident_tokens(self, borrower_ids: Sequence[int]) -> dict[int, bytes]:
        return debtor_tokens(self._store, self._tokeniser, borrower_ids, now=self._clock())[1]

"""Collection contact attempts on delinquent accounts, by lenders and agencies.

A lender works its own delinquent accounts in the 30 days before the
reference date (or before it entrusted them); an agency works the accounts
entrusted to it from the start of the entrustment. About 2 % of attempts fall
in the 22:00–08:00 quiet hours, so that contact-rule reports have something
to find. SMS, app messages and letters never count as connected: only an
interactive call or a visit can reach the debtor.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict

from gateway.synth.accounts import Account
from gateway.synth.people import Person, random_mobile
from gateway.synth.records import SHANGHAI, ContactRecord
from gateway.synth.refs import RefBook

CHANNELS = ("phone", "sms", "ai_voice", "app_message", "letter", "visit")
_CHANNEL_WEIGHTS = (50, 18, 15, 8, 4, 5)
_CONNECT_RATE = {"phone": 0.35, "ai_voice": 0.3, "visit": 0.6}
_CONNECTED_OUTCOMES = ("promise_to_pay", "refused", "disputed", "paid", "callback_requested")
_CONNECTED_WEIGHTS = (40, 20, 8, 12, 20)
_MISSED_OUTCOMES = ("no_answer", "busy", "powered_off", "invalid_number")
_MISSED_WEIGHTS = (60, 20, 15, 5)
_QUIET_HOURS = (22, 23, 6, 7)
QUIET_HOUR_SHARE = 0.02


def contacts(
    rng: random.Random,
    people: tuple[Person, ...],
    accounts: list[Account],
    books: dict[str, RefBook],
    *,
    as_of: dt.date,
) -> dict[str, list[ContactRecord]]:
    """Return contact attempts on every delinquent, open account.

    Parameters
    ----------
    rng
        Generator dedicated to contacts.
    people
        The population, for the debtors' mobiles.
    accounts
        Lender accounts and agency copies.
    books
        Reference books by member id.
    as_of
        Reference date; attempts run up to and including that day.

    Returns
    -------
    dict of str to list of ContactRecord
        By member id; an agency's attempts name it in ``agency_member_id``.

    """
    entrusted = {account.row.row_id: account.entrusted_on for account in accounts if account.entrusted_by}
    result: dict[str, list[ContactRecord]] = defaultdict(list)
    for account in accounts:
        if account.days_past_due == 0 or account.status == "closed":
            continue
        months_late = account.row.pay[0]
        if account.entrusted_by and account.entrusted_on:
            start, end = account.entrusted_on, as_of
            count = rng.randint(2, 6 + 2 * min(months_late, 4))
            agency = account.member_id
        else:
            end = (entrusted.get(account.row.row_id) or as_of + dt.timedelta(days=1)) - dt.timedelta(days=1)
            end = min(end, as_of)
            start = end - dt.timedelta(days=29)
            count = rng.randint(1, 3 + 2 * min(months_late, 4))
            agency = ""
        person = people[account.person_index]
        for _ in range(count):
            result[account.member_id].append(
                _attempt(rng, books[account.member_id], account, person, start, end, agency=agency)
            )
    return result


def _attempt(
    rng: random.Random,
    book: RefBook,
    account: Account,
    person: Person,
    start: dt.date,
    end: dt.date,
    *,
    agency: str,
) -> ContactRecord:
    day = start + dt.timedelta(days=rng.randint(0, max((end - start).days, 0)))
    hour = rng.choice(_QUIET_HOURS) if rng.random() < QUIET_HOUR_SHARE else rng.randint(8, 21)
    when = dt.datetime(
        day.year, day.month, day.day, hour, rng.randrange(60), rng.randrange(60), tzinfo=SHANGHAI
    )
    channel = rng.choices(CHANNELS, weights=_CHANNEL_WEIGHTS)[0]
    connected = rng.random() < _CONNECT_RATE.get(channel, 0.0)
    if channel in ("letter", "visit"):
        number = ""
    elif rng.random() < 0.88:
        number = person.mobile
    else:
        number = random_mobile(rng)
    if connected:
        outcome = rng.choices(_CONNECTED_OUTCOMES, weights=_CONNECTED_WEIGHTS)[0]
    elif channel in ("phone", "ai_voice"):
        outcome = rng.choices(_MISSED_OUTCOMES, weights=_MISSED_WEIGHTS)[0]
    else:
        outcome = {"sms": "delivered", "app_message": "delivered", "letter": "sent"}.get(channel, "not_home")
    return ContactRecord(
        contact_ref=book.next_ref("contact", day),
        account=account,
        attempted_at=when,
        channel=channel,
        contact_number=number,
        connected=connected,
        agency_member_id=agency,
        outcome=outcome,
    )

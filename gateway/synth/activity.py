"""Applications, blacklist listings and consents around the accounts.

Multi-lender borrowers apply more often and more widely (the 多头借贷
signal); lenders list a share of their seriously delinquent defaulters and a
few fraud cases; most customers have consented to consortium checks.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict

from gateway.roles import Role
from gateway.synth.accounts import Account
from gateway.synth.members import Member
from gateway.synth.people import Person
from gateway.synth.records import SHANGHAI, ApplicationRecord, BlacklistRecord, ConsentRecord
from gateway.synth.refs import RefBook

BLACKLIST_REASONS = ("malicious_evasion", "court_dishonest_debtor", "fraud", "identity_theft")
_REASON_WEIGHTS = (50, 30, 12, 8)
_APPEAL_STATES = ("none", "pending", "rejected")
_APPEAL_WEIGHTS = (90, 7, 3)
#: Negative credit information is kept five years (征信业管理条例 Art. 16).
LISTING_DAYS = 5 * 365 + 1


def applications(
    rng: random.Random,
    people: tuple[Person, ...],
    accounts: list[Account],
    lenders: tuple[Member, ...],
    books: dict[str, RefBook],
    *,
    as_of: dt.date,
) -> dict[str, list[ApplicationRecord]]:
    """Return the applications each lender received over the 365 days before ``as_of``.

    Parameters
    ----------
    rng
        Generator dedicated to applications.
    people, accounts
        The population and the lender accounts.
    lenders
        Lending members.
    books
        Reference books by member id.
    as_of
        Reference date.

    Returns
    -------
    dict of str to list of ApplicationRecord
        By lender id; an application may come from a person with no account there.

    """
    held: dict[int, dict[str, Account]] = defaultdict(dict)
    for account in accounts:
        held[account.person_index].setdefault(account.member_id, account)
    by_id = {lender.member_id: lender for lender in lenders}
    result: dict[str, list[ApplicationRecord]] = {lender.member_id: [] for lender in lenders}
    for person in people:
        mine = held[person.index]
        if len(mine) > 1:
            count = rng.randint(2, 7) + (2 if person.risky else 0)
        else:
            count = rng.choices((0, 1, 2, 3), weights=(45, 38, 12, 5))[0]
        for _ in range(count):
            lender = (
                rng.choice(lenders) if rng.random() < 0.4 or not mine else by_id[rng.choice(sorted(mine))]
            )
            when = _moment(rng, as_of - dt.timedelta(days=rng.randrange(365)))
            existing = mine.get(lender.member_id)
            if (as_of - when.date()).days <= 3 and rng.random() < 0.5:
                decision = "pending"
            elif existing is not None:
                decision = "approved" if rng.random() < 0.75 else "declined"
            else:
                decision = "declined" if rng.random() < (0.8 if person.risky else 0.5) else "approved"
            amount = max(1_000, round(person.first_row.limit_bal * rng.uniform(0.1, 0.8), -3))
            result[lender.member_id].append(
                ApplicationRecord(
                    application_ref=books[lender.member_id].next_ref("application", when.date()),
                    person_index=person.index,
                    applied_at=when,
                    segment=existing.segment if existing else _segment(rng, lender.role),
                    amount_requested=int(amount),
                    decision=decision,
                )
            )
    return result


def blacklist(
    rng: random.Random, accounts: list[Account], books: dict[str, RefBook], *, as_of: dt.date
) -> dict[str, list[BlacklistRecord]]:
    """Return listings: 40 % of defaulted 90+ day accounts, 8 % at 60 days, and rare fraud cases.

    Parameters
    ----------
    rng
        Generator dedicated to the blacklist.
    accounts
        Lender accounts.
    books
        Reference books by member id.
    as_of
        Reference date; listings are at most two years old and run five years.

    Returns
    -------
    dict of str to list of BlacklistRecord
        By lender id, at most one listing per member and person.

    """
    result: dict[str, list[BlacklistRecord]] = defaultdict(list)
    listed: set[tuple[str, int]] = set()
    for account in accounts:
        key = (account.member_id, account.person_index)
        late = account.days_past_due if account.row.defaulted == 1 else 0
        serious = late >= 60
        chance = 0.4 if late >= 90 else 0.08 if serious else 0.003
        if key in listed or rng.random() >= chance:
            continue
        listed.add(key)
        reason = (
            rng.choices(BLACKLIST_REASONS, weights=_REASON_WEIGHTS)[0]
            if serious
            else rng.choice(("fraud", "identity_theft"))
        )
        listed_on = as_of - dt.timedelta(days=rng.randint(1, 730))
        result[account.member_id].append(
            BlacklistRecord(
                entry_ref=books[account.member_id].next_ref("blacklist", listed_on),
                person_index=account.person_index,
                reason=reason,
                evidence_ref=f"EV-{listed_on:%Y%m}-{rng.randrange(16**6):06X}",
                listed_on=listed_on,
                expires_on=listed_on + dt.timedelta(days=LISTING_DAYS),
                appeal_state=rng.choices(_APPEAL_STATES, weights=_APPEAL_WEIGHTS)[0],
            )
        )
    _every_lender_contributes(rng, accounts, books, result, as_of=as_of)
    return result


def _every_lender_contributes(
    rng: random.Random,
    accounts: list[Account],
    books: dict[str, RefBook],
    result: dict[str, list[BlacklistRecord]],
    *,
    as_of: dt.date,
) -> None:
    """List the most delinquent account of any lender without a live listing.

    Reciprocity (policies/subject_check.toml) bars a lender that contributes
    nothing from searching; a small synthetic book must still be able to search.
    """
    for member_id in sorted({account.member_id for account in accounts}):
        if any(r.appeal_state == "none" for r in result[member_id]):
            continue
        worst = max(
            (a for a in accounts if a.member_id == member_id), key=lambda a: (a.days_past_due, a.person_index)
        )
        listed_on = as_of - dt.timedelta(days=rng.randint(1, 365))
        result[member_id].append(
            BlacklistRecord(
                entry_ref=books[member_id].next_ref("blacklist", listed_on),
                person_index=worst.person_index,
                reason="malicious_evasion",
                evidence_ref=f"EV-{listed_on:%Y%m}-{rng.randrange(16**6):06X}",
                listed_on=listed_on,
                expires_on=listed_on + dt.timedelta(days=LISTING_DAYS),
                appeal_state="none",
            )
        )


def consents(
    rng: random.Random,
    accounts: list[Account],
    apps: dict[str, list[ApplicationRecord]],
    books: dict[str, RefBook],
    *,
    as_of: dt.date,
) -> dict[str, list[ConsentRecord]]:
    """Return consents: post-loan management per customer, approval per application, case checks per debtor.

    About 92 % of account holders consented to post-loan management (a few
    revoked, a few expired), 95 % of applications carry an approval consent and
    95 % of entrusted debtors a ``collection_case_check`` consent at the agency.

    Parameters
    ----------
    rng
        Generator dedicated to consents.
    accounts
        Lender accounts and agency copies.
    apps
        Applications by lender id.
    books
        Reference books by member id.
    as_of
        Reference date.

    Returns
    -------
    dict of str to list of ConsentRecord
        By member id.

    """
    result: dict[str, list[ConsentRecord]] = defaultdict(list)
    first: dict[tuple[str, int], Account] = {}
    for account in accounts:
        first.setdefault((account.member_id, account.person_index), account)
    for (member_id, person_index), account in first.items():
        if rng.random() >= (0.95 if account.entrusted_by else 0.92):
            continue
        book = books[member_id]
        if account.entrusted_by and account.entrusted_on and account.entrustment_expires_on:
            result[member_id].append(
                ConsentRecord(
                    book.next_ref("consent", account.entrusted_on),
                    person_index,
                    "collection_case_check",
                    account.entrusted_on,
                    account.entrustment_expires_on,
                )
            )
            continue
        granted = max(account.opened_on, as_of - dt.timedelta(days=rng.randint(30, 1000)))
        if rng.random() < 0.04:
            granted = as_of - dt.timedelta(days=rng.randint(1100, 1400))
        revoked = (
            granted + dt.timedelta(days=rng.randint(0, (as_of - granted).days))
            if rng.random() < 0.03
            else None
        )
        result[member_id].append(
            ConsentRecord(
                book.next_ref("consent", granted),
                person_index,
                "post_loan_management",
                granted,
                granted + dt.timedelta(days=3 * 365),
                revoked,
            )
        )
    for member_id, records in apps.items():
        for app in records:
            if rng.random() < 0.95:
                day = app.applied_at.date()
                purpose = "credit_card_approval" if app.segment == "credit_card" else "loan_approval"
                result[member_id].append(
                    ConsentRecord(
                        books[member_id].next_ref("consent", day),
                        app.person_index,
                        purpose,
                        day,
                        day + dt.timedelta(days=365),
                    )
                )
    return result


def _moment(rng: random.Random, day: dt.date) -> dt.datetime:
    seconds = rng.randint(7 * 3600, 23 * 3600 + 59 * 60)
    return dt.datetime(day.year, day.month, day.day, tzinfo=SHANGHAI) + dt.timedelta(seconds=seconds)


def _segment(rng: random.Random, role: Role) -> str:
    if role is Role.BANK:
        return "credit_card" if rng.random() < 0.6 else "bank"
    return "consumer_finance" if role is Role.CONSUMER_FINANCE else "micro_loan"

"""Accounts built from real UCI rows and spread over the lenders.

Every lender account is one UCI row, drawn without replacement. A minority of
people borrow from several lenders, more often those whose first row
defaulted, and their further accounts come mostly from rows with the same
default label, so risk clusters in one person the way it does in practice.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from gateway.roles import Role
from gateway.synth.members import Member
from gateway.synth.people import Person
from gateway.synth.uci import UCIRow

#: Probability that a person borrows from more than one lender, by first-row default label.
MULTI_LENDER_SHARE = {0: 0.09, 1: 0.32}
#: Weights for the number of additional lenders (1, 2, 3) of a multi-lender person.
EXTRA_LENDER_WEIGHTS = (65, 25, 10)
#: Probability that an additional account's row has the same default label as the first one.
SAME_LABEL_SHARE = 0.75
_ROLE_WEIGHT = {Role.BANK: 1.0, Role.CONSUMER_FINANCE: 0.8, Role.MICRO_LENDER: 0.6}
_RISKY_NONBANK_BOOST = 1.8


@dataclass(frozen=True, slots=True)
class Account:
    """One account at one member, carrying a real UCI row.

    Attributes
    ----------
    member_id
        The holding member (a lender, or the agency for an entrusted copy).
    person_index
        Index of the borrower in the population.
    row
        The UCI row giving limit, statuses, balances, payments and default label.
    segment, product
        Canonical segment and the member's product code.
    opened_on
        Opening date, at least six months before the reference date.
    status
        ``active``, ``closed`` (no use, nothing owed) or ``charged_off`` (defaulted, 90+ days late).
    closed_on
        Closing date of a closed account.
    entrusted_by
        For an agency's copy: the lender that entrusted the account.
    entrusted_on, entrustment_expires_on
        Start and end of the entrustment (agency copies only).

    """

    member_id: str
    person_index: int
    row: UCIRow
    segment: str
    product: str
    opened_on: dt.date
    status: str
    closed_on: dt.date | None = None
    entrusted_by: str | None = None
    entrusted_on: dt.date | None = None
    entrustment_expires_on: dt.date | None = None

    @property
    def days_past_due(self) -> int:
        """Return months of delay in the latest month (PAY_0) times 30, or 0 when not late."""
        return max(self.row.pay[0], 0) * 30

    @property
    def outstanding(self) -> int:
        """Return the latest statement balance (BILL_AMT1), floored at zero."""
        return max(self.row.bill[0], 0)

    @property
    def principal(self) -> int:
        """Return the highest of the six statement balances, floored at zero: the amount drawn."""
        return max(max(self.row.bill), 0)


def allocate_accounts(
    rng: random.Random,
    people: tuple[Person, ...],
    lenders: tuple[Member, ...],
    spare_rows: list[UCIRow],
    *,
    as_of: dt.date,
) -> list[Account]:
    """Give each person an account for their first row, and some people more at other lenders.

    Parameters
    ----------
    rng
        Generator dedicated to accounts.
    people
        The population; each person's ``first_row`` becomes their first account.
    lenders
        Members that lend (banks, consumer-finance companies, micro-lenders).
    spare_rows
        Unused UCI rows in random order, drawn from for additional accounts.
    as_of
        Reference date.

    Returns
    -------
    list of Account
        Person by person; when the spare rows run out, people get fewer extra accounts.

    """
    pools: dict[int, list[UCIRow]] = {0: [], 1: []}
    for row in spare_rows:
        pools[row.defaulted].append(row)
    accounts = []
    for person in people:
        label = person.first_row.defaulted
        extra = 0
        if len(lenders) > 1 and rng.random() < MULTI_LENDER_SHARE[label]:
            extra = min(rng.choices((1, 2, 3), weights=EXTRA_LENDER_WEIGHTS)[0], len(lenders) - 1)
        chosen = _pick_lenders(rng, lenders, 1 + extra, risky=person.risky)
        for position, lender in enumerate(chosen):
            if position == 0:
                row = person.first_row
            else:
                same = pools[label] if rng.random() < SAME_LABEL_SHARE else pools[1 - label]
                source = same or pools[0] or pools[1]
                if not source:
                    break
                row = source.pop()
            accounts.append(_account(rng, person, lender, row, as_of=as_of))
    return accounts


def entrust(
    rng: random.Random,
    accounts: list[Account],
    lenders: tuple[Member, ...],
    agencies: tuple[Member, ...],
    *,
    as_of: dt.date,
) -> list[Account]:
    """Return the agencies' copies of delinquent lender accounts entrusted to them.

    Accounts 60+ days past due are entrusted with probability 0.7 (0.9 when
    charged off), each lender preferring one agency.

    Parameters
    ----------
    rng
        Generator dedicated to entrustment.
    accounts
        Lender accounts.
    lenders, agencies
        The lending members and the collection agencies.
    as_of
        Reference date; entrustments run 180 days and are all current on it.

    Returns
    -------
    list of Account
        Copies held by agencies, with ``entrusted_by`` set.

    """
    if not agencies:
        return []
    preferred = {lender.member_id: agencies[i % len(agencies)] for i, lender in enumerate(lenders)}
    copies = []
    for account in accounts:
        if account.days_past_due < 60 or account.status == "closed":
            continue
        if rng.random() >= (0.9 if account.status == "charged_off" else 0.7):
            continue
        agency = preferred[account.member_id] if rng.random() < 0.8 else rng.choice(agencies)
        start = as_of - dt.timedelta(days=rng.randint(5, 170))
        copies.append(
            Account(
                member_id=agency.member_id,
                person_index=account.person_index,
                row=account.row,
                segment=account.segment,
                product=account.product,
                opened_on=account.opened_on,
                status=account.status,
                closed_on=account.closed_on,
                entrusted_by=account.member_id,
                entrusted_on=start,
                entrustment_expires_on=start + dt.timedelta(days=180),
            )
        )
    return copies


def _pick_lenders(
    rng: random.Random, lenders: tuple[Member, ...], count: int, *, risky: bool
) -> list[Member]:
    remaining = list(lenders)
    boost = _RISKY_NONBANK_BOOST if risky else 1.0
    weights = [_ROLE_WEIGHT[m.role] * (1.0 if m.role is Role.BANK else boost) for m in remaining]
    chosen = []
    for _ in range(count):
        position = rng.choices(range(len(remaining)), weights=weights)[0]
        chosen.append(remaining.pop(position))
        weights.pop(position)
    return chosen


def _account(rng: random.Random, person: Person, lender: Member, row: UCIRow, *, as_of: dt.date) -> Account:
    segment, product = _segment_product(rng, lender.role, row.limit_bal)
    adult = person.birth_date + dt.timedelta(days=18 * 366)
    latest = as_of - dt.timedelta(days=183)
    earliest = min(max(adult, as_of - dt.timedelta(days=12 * 365)), latest)
    opened = earliest + dt.timedelta(days=rng.randint(0, (latest - earliest).days))
    status, closed = "active", None
    if row.defaulted == 1 and row.pay[0] >= 3:
        status = "charged_off"
    elif row.defaulted == 0 and row.pay[0] == -2 and not any(row.bill) and not any(row.paid):
        status, closed = "closed", as_of - dt.timedelta(days=rng.randint(1, 150))
    return Account(
        member_id=lender.member_id,
        person_index=person.index,
        row=row,
        segment=segment,
        product=product,
        opened_on=opened,
        status=status,
        closed_on=closed,
    )


def _segment_product(rng: random.Random, role: Role, limit: int) -> tuple[str, str]:
    if role is Role.BANK:
        if rng.random() < 0.7:
            tier = "platinum" if limit >= 300_000 else "gold" if limit >= 100_000 else "classic"
            return "credit_card", f"card_{tier}"
        return "bank", "personal_consumer_loan"
    if role is Role.CONSUMER_FINANCE:
        return "consumer_finance", rng.choice(("cash_loan", "installment_loan", "pos_instalment"))
    return "micro_loan", "micro_cash_loan"

"""One person under two borrower records (finding 5): a member still counts the person once.

Before issue #13 contribution bounds applied per borrower row: one resident ID under two
``borrower_ref``s put 2 in a cell bounded at 1 and moved the vector by L1 = 6 against a stated
Δ₁ = 3. Now a member keys every observation by the person's token, so a second record of the
same facts changes nothing, and a second record with other facts moves the person, never
adds one. Played on a copy of bank-1's store (the running consortium is not disturbed).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from gateway.clock import LOCAL_ZONE, system_clock
from gateway.config import default_policies_dir
from gateway.policy.contact_rules import ContactRules
from gateway.reports.histograms import Counts, Period, PersonKeys, compute_histograms
from gateway.reports.templates import load_template
from gateway.roles import Role
from gateway.store import Store, open_store
from gateway.store.enums import AccountStatus, Segment, TokenType
from gateway.store.models import Account, Borrower, SubjectTokenRecord
from gateway.store.repositories.tokens import SubjectTokens

from .conftest import ReportWorld

pytestmark = pytest.mark.slow


def _vectors(store: Store) -> dict[str, Counts]:
    template = load_template(default_policies_dir(), "monthly-risk")
    tokens = SubjectTokens(store)
    persons = PersonKeys(
        tokens.token_by_borrower(TokenType.RESIDENT_ID, tokens.latest_epoch(TokenType.RESIDENT_ID))
    )
    # The month of the snapshot: the accounts' current figures (the copy has no history rows).
    month = Period.containing(system_clock(), LOCAL_ZONE)
    return compute_histograms(
        store,
        template,
        month,
        role=Role.BANK,
        snapshot_period=month,
        persons=persons,
        contact_rules=ContactRules.from_directory(default_policies_dir()),
    )


def _second_record(store: Store) -> None:
    """Copy every active account of one person under a new borrower record of the same resident ID."""
    with store.transaction() as session:
        person = session.scalars(
            sa.select(Borrower)
            .join(Account, Account.borrower_id == Borrower.id)
            .where(
                Account.status == AccountStatus.ACTIVE,
                Account.entrusted_by.is_(None),
                Account.segment.in_([Segment.BANK, Segment.CONSUMER_FINANCE, Segment.MICRO_LOAN]),
            )
            .order_by(Borrower.id)
        ).first()
        assert person is not None
        twin = Borrower(
            borrower_ref=f"{person.borrower_ref}-again",
            resident_id=person.resident_id,
            name=person.name,
            mobile=person.mobile,
            address=person.address,
            province=person.province,
            created_at=person.created_at,
        )
        session.add(twin)
        session.flush()
        for number, account in enumerate(
            session.scalars(sa.select(Account).where(Account.borrower_id == person.id))
        ):
            session.add(
                Account(
                    account_ref=f"{account.account_ref}-again-{number}",
                    borrower_id=twin.id,
                    segment=account.segment,
                    product=account.product,
                    credit_limit=account.credit_limit,
                    principal=account.principal,
                    outstanding=account.outstanding,
                    days_past_due=account.days_past_due,
                    status=account.status,
                    opened_on=account.opened_on,
                    closed_on=account.closed_on,
                    defaulted=account.defaulted,
                )
            )
        token = session.scalars(
            sa.select(SubjectTokenRecord).where(SubjectTokenRecord.borrower_id == person.id)
        ).first()
        assert token is not None  # the books are tokenised: the twin's token is the same OPRF output
        session.add(
            SubjectTokenRecord(
                borrower_id=twin.id,
                token_kind=token.token_kind,
                key_epoch=token.key_epoch,
                token=token.token,
                created_at=token.created_at,
            )
        )


def test_a_second_record_of_a_person_adds_nothing(world: ReportWorld, tmp_path: Path) -> None:
    source = world.member_store_url("bank-1").removeprefix("sqlite:///")
    copy = tmp_path / "bank-1.db"
    with sqlite3.connect(source) as live, sqlite3.connect(copy) as target:
        live.backup(target)  # a consistent copy, write-ahead log included
    store = open_store(f"sqlite:///{copy}")
    try:
        before = _vectors(store)
        _second_record(store)
        after = _vectors(store)
    finally:
        store.close()

    for histogram_id, vector in before.items():
        # Per-row bounding (the mutation: key observations by borrower id) counts the twin
        # again: + its cells in delinquency and outstanding, and 2 in a cell bounded at 1.
        assert np.array_equal(after[histogram_id], vector), histogram_id

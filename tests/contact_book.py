"""Small deterministic books for the contact-clearance tests, the storm and its benchmark.

Each person has a valid resident ID and a mobile number; a lender holds one account per person,
an agency a copy of each account it was entrusted. Birth dates and entrustment periods are
given explicitly by the caller (derived from the clock), never read here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa

from gateway.identifiers.resident_id import resident_id_check_char
from gateway.store.database import Store
from gateway.store.enums import AccountStatus, Segment
from gateway.store.models import Account, Borrower


@dataclass(frozen=True)
class BookPerson:
    index: int
    resident_id: str
    mobile: str
    relative_mobile: str

    def account_ref(self, member_id: str) -> str:
        return f"{member_id}-acc-{self.index:05d}"


def people(count: int, *, seed: int = 0) -> list[BookPerson]:
    """``count`` people with distinct, valid resident IDs and mobiles."""
    found = []
    for index in range(count):
        year, month, day = 1960 + (index + seed) % 40, 1 + index % 12, 1 + index % 28
        first17 = f"110101{year}{month:02d}{day:02d}{(index * 7 + seed) % 1000:03d}"
        found.append(
            BookPerson(
                index,
                first17 + resident_id_check_char(first17),
                f"139{(seed * 100_003 + index) % 10**8:08d}",
                f"158{(seed * 100_003 + index) % 10**8:08d}",
            )
        )
    return found


def load_book(
    store: Store,
    member_id: str,
    persons: list[BookPerson],
    *,
    now: dt.datetime,
    entrusted_by: str | None = None,
    entrustment_expires_on: dt.date | None = None,
) -> None:
    """Write one borrower and one delinquent account per person into ``store``."""
    with store.transaction() as session:
        session.execute(
            sa.insert(Borrower),
            [
                {
                    "borrower_ref": f"{member_id}-b-{p.index:05d}",
                    "resident_id": p.resident_id,
                    "name": f"测试{p.index}",
                    "mobile": p.mobile,
                    "address": "北京市东城区测试路1号",
                    "province": "北京市",
                    "gender": None,
                    "education": None,
                    "marital_status": None,
                    "created_at": now,
                }
                for p in persons
            ],
        )
        ids = dict(session.execute(sa.select(Borrower.borrower_ref, Borrower.id)).all())
        session.execute(
            sa.insert(Account),
            [
                {
                    "account_ref": p.account_ref(member_id),
                    "borrower_id": ids[f"{member_id}-b-{p.index:05d}"],
                    "segment": Segment.CONSUMER_FINANCE,
                    "product": "cash loan",
                    "credit_limit": Decimal("10000.00"),
                    "principal": Decimal("8000.00"),
                    "outstanding": Decimal("6000.00"),
                    "days_past_due": 75,
                    "status": AccountStatus.ACTIVE,
                    "opened_on": now.date() - dt.timedelta(days=400),
                    "closed_on": None,
                    "defaulted": False,
                    "entrusted_by": entrusted_by,
                    "entrustment_expires_on": entrustment_expires_on,
                }
                for p in persons
            ],
        )

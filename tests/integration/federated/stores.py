"""Member stores built from real UCI rows, with seeded PII, for federated tests."""

from __future__ import annotations

import datetime as dt
import json
import random
from decimal import Decimal
from pathlib import Path

from gateway.identifiers.resident_id import resident_id_check_char
from gateway.store import open_store
from gateway.store.enums import AccountStatus, Education, Gender, MaritalStatus, Segment
from gateway.store.models import Account, Borrower, ModelRow, RepaymentMonth
from gateway.synth.books import uci_cells
from gateway.synth.names import random_name
from gateway.synth.people import random_mobile
from gateway.synth.uci import UCIRow

AS_OF = dt.date(2025, 6, 30)
_EDUCATION = {1: Education.GRADUATE, 2: Education.UNIVERSITY, 3: Education.HIGH_SCHOOL, 4: Education.OTHER}
_MARITAL = {1: MaritalStatus.MARRIED, 2: MaritalStatus.SINGLE, 3: MaritalStatus.OTHER}


def seeded_person(rng: random.Random, row: UCIRow) -> tuple[str, str, str]:
    """Return (resident id, mobile, name) for a holder of ``row``'s age on AS_OF."""
    birth = AS_OF.replace(year=AS_OF.year - row.age) - dt.timedelta(days=rng.randrange(1, 360))
    male = row.sex == 1
    first17 = f"110105{birth:%Y%m%d}{rng.randrange(100):02d}{rng.randrange(1 if male else 0, 10, 2)}"
    return first17 + resident_id_check_char(first17), random_mobile(rng), random_name(rng, male=male)


def build_store(path: Path, rows: list[UCIRow], *, seed: int) -> tuple[str, list[str]]:
    """Write one account per row into a new SQLite store; return its URL and the seeded PII values."""
    url = f"sqlite:///{path}"
    store = open_store(url)
    rng = random.Random(seed)
    seeded: list[str] = []
    created = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    with store.transaction() as session:
        for i, row in enumerate(rows):
            resident_id, mobile, name = seeded_person(rng, row)
            seeded += [resident_id, mobile, name]
            borrower = Borrower(
                borrower_ref=f"b-{seed}-{i}",
                resident_id=resident_id,
                name=name,
                mobile=mobile,
                address="北京市朝阳区建国路1号",
                province="北京市",
                gender=Gender.MALE if row.sex == 1 else Gender.FEMALE,
                education=_EDUCATION.get(row.education, Education.UNKNOWN),
                marital_status=_MARITAL.get(row.marriage, MaritalStatus.UNKNOWN),
                created_at=created,
            )
            session.add(borrower)
            session.flush()
            account = Account(
                account_ref=f"a-{seed}-{row.row_id}",
                borrower_id=borrower.id,
                segment=Segment.CREDIT_CARD,
                product="card_classic",
                credit_limit=Decimal(row.limit_bal),
                principal=Decimal(max(max(row.bill), 0)),
                outstanding=Decimal(max(row.bill[0], 0)),
                days_past_due=max(row.pay[0], 0) * 30,
                status=AccountStatus.ACTIVE,
                opened_on=dt.date(2020, 1, 1),
                defaulted=bool(row.defaulted),
            )
            session.add(account)
            session.flush()
            session.add(
                ModelRow(
                    row_ref=account.account_ref,
                    spec_name="uci-taiwan",
                    cells=json.dumps(uci_cells(row, account.account_ref)),
                    imported_at=created,
                )
            )
            for month in range(6):
                session.add(
                    RepaymentMonth(
                        account_id=account.id,
                        months_ago=month + 1,
                        repayment_status=row.pay[month],
                        statement_balance=Decimal(row.bill[month]),
                        amount_paid=Decimal(row.paid[month]),
                    )
                )
    store.close()
    return url, seeded

"""Features from a member's own store, read into the UCI column layout.

Each account becomes one row. Descriptive attributes are coded as the UCI data set
codes them (``SEX`` 1 = male, 2 = female; ``EDUCATION`` 1 graduate … 4 other, 0
unknown; ``MARRIAGE`` 1 married, 2 single, 3 other, 0 unknown); ``AGE`` is the
holder's age on ``as_of``, from the birth date inside the resident ID, computed
here and never stored or sent. Month ``m`` months ago fills ``PAY_{0,2..6}``,
``BILL_AMT{m}`` and ``PAY_AMT{m}``; a missing month reads as "no consumption"
(status -2, zero amounts). Only local integer ids and account references are
kept as row keys; no PII leaves this function.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import defaultdict

import numpy as np
import sqlalchemy as sa

from federated.features.table import RawTable
from gateway.store.database import Store, open_store
from gateway.store.enums import Education, Gender, MaritalStatus
from gateway.store.models import Account, Borrower, RepaymentMonth
from gateway.synth.uci import BILL_COLUMNS, PAID_COLUMNS, PAY_COLUMNS

__all__ = ["load_store_table", "open_member_store"]

_SEX = {Gender.MALE: 1, Gender.FEMALE: 2}
_EDUCATION = {Education.GRADUATE: 1, Education.UNIVERSITY: 2, Education.HIGH_SCHOOL: 3, Education.OTHER: 4}
_MARRIAGE = {MaritalStatus.MARRIED: 1, MaritalStatus.SINGLE: 2, MaritalStatus.OTHER: 3}
_MONTHS = 6
# Opening a store runs its Alembic migrations, which are not thread-safe; in-process
# runs open several members' stores from parallel threads.
_OPEN_LOCK = threading.Lock()


def open_member_store(url: str) -> Store:
    """Open a member's store (serialised across threads; see ``_OPEN_LOCK``)."""
    with _OPEN_LOCK:
        return open_store(url)


def load_store_table(store: Store, *, as_of: dt.date) -> RawTable:
    """Read every account of the store as one raw row.

    Parameters
    ----------
    store
        The member's own store.
    as_of
        Reference date for ``AGE``.

    Returns
    -------
    RawTable
        Rows ordered by account id; keys are account references.

    """
    with store.transaction() as session:
        accounts = session.execute(
            sa.select(
                Account.id,
                Account.account_ref,
                Account.credit_limit,
                Account.defaulted,
                Borrower.gender,
                Borrower.education,
                Borrower.marital_status,
                Borrower.resident_id,
            )
            .join(Borrower, Borrower.id == Account.borrower_id)
            .order_by(Account.id)
        ).all()
        months = session.execute(
            sa.select(
                RepaymentMonth.account_id,
                RepaymentMonth.months_ago,
                RepaymentMonth.repayment_status,
                RepaymentMonth.statement_balance,
                RepaymentMonth.amount_paid,
            ).where(RepaymentMonth.months_ago <= _MONTHS)
        ).all()
    history: dict[int, dict[int, tuple[int, float, float]]] = defaultdict(dict)
    for month_row in months:
        history[month_row.account_id][month_row.months_ago] = (
            month_row.repayment_status,
            float(month_row.statement_balance),
            float(month_row.amount_paid),
        )
    size = len(accounts)
    columns = {name: np.zeros(size) for name in ("LIMIT_BAL", "SEX", "EDUCATION", "MARRIAGE", "AGE")}
    for name in (*PAY_COLUMNS, *BILL_COLUMNS, *PAID_COLUMNS):
        columns[name] = np.zeros(size)
    labels = np.zeros(size, dtype=np.int64)
    keys: list[str] = []
    for row, (account_id, ref, limit, defaulted, gender, education, marital, resident_id) in enumerate(
        accounts
    ):
        keys.append(ref)
        labels[row] = int(defaulted)
        columns["LIMIT_BAL"][row] = float(limit)
        columns["SEX"][row] = _SEX.get(gender, 0) if gender is not None else 0
        columns["EDUCATION"][row] = _EDUCATION.get(education, 0) if education is not None else 0
        columns["MARRIAGE"][row] = _MARRIAGE.get(marital, 0) if marital is not None else 0
        columns["AGE"][row] = _age(resident_id, as_of)
        for month in range(1, _MONTHS + 1):
            status, balance, paid = history[account_id].get(month, (-2, 0.0, 0.0))
            columns[PAY_COLUMNS[month - 1]][row] = status
            columns[BILL_COLUMNS[month - 1]][row] = balance
            columns[PAID_COLUMNS[month - 1]][row] = paid
    return RawTable(columns, labels, tuple(keys))


def _age(resident_id: str, as_of: dt.date) -> float:
    # GB 11643: characters 7-14 of an 18-character resident ID are the birth date (YYYYMMDD).
    try:
        birth = dt.date(int(resident_id[6:10]), int(resident_id[10:12]), int(resident_id[12:14]))
    except ValueError:
        return 0.0  # An unreadable birth date reads as the lowest age after clipping.
    years = as_of.year - birth.year - ((as_of.month, as_of.day) < (birth.month, birth.day))
    return float(years)

"""Bulk access to the credit tables for the importer: look-ups by reference and inserts."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import InstrumentedAttribute

from gateway.store.database import Store
from gateway.store.enums import ImportKind
from gateway.store.models import (
    Account,
    Application,
    Base,
    BlacklistEntry,
    Borrower,
    Consent,
    ContactAttempt,
    RepaymentMonth,
)

_TABLES: dict[ImportKind, tuple[type[Base], InstrumentedAttribute[str], InstrumentedAttribute[int]]] = {
    ImportKind.BORROWERS: (Borrower, Borrower.borrower_ref, Borrower.id),
    ImportKind.ACCOUNTS: (Account, Account.account_ref, Account.id),
    ImportKind.APPLICATIONS: (Application, Application.application_ref, Application.id),
    ImportKind.CONTACTS: (ContactAttempt, ContactAttempt.contact_ref, ContactAttempt.id),
    ImportKind.BLACKLIST: (BlacklistEntry, BlacklistEntry.entry_ref, BlacklistEntry.id),
    ImportKind.CONSENTS: (Consent, Consent.consent_ref, Consent.id),
}


class CreditRecords:
    """Repository used by the importer; every method joins the caller's transaction.

    Parameters
    ----------
    store
        The node's store.

    """

    def __init__(self, store: Store) -> None:
        self._store = store

    def ids_by_ref(self, kind: ImportKind, refs: Collection[str]) -> dict[str, int]:
        """Return ``{ref: id}`` for the references of ``kind`` that exist."""
        if not refs:
            return {}
        _model, ref_column, id_column = _TABLES[kind]
        with self._store.transaction() as session:
            rows = session.execute(sa.select(ref_column, id_column).where(ref_column.in_(list(refs))))
            return {ref: row_id for ref, row_id in rows}

    def insert(self, kind: ImportKind, rows: Sequence[Mapping[str, Any]]) -> dict[str, int]:
        """Insert rows of ``kind`` (column → value) and return ``{ref: new id}``."""
        if not rows:
            return {}
        model, ref_column, _id = _TABLES[kind]
        with self._store.transaction() as session:
            session.execute(sa.insert(model), [dict(row) for row in rows])
        return self.ids_by_ref(kind, [str(row[ref_column.key]) for row in rows])

    def insert_repayment_history(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert ``repayment_history`` rows (account_id, months_ago, amounts)."""
        if rows:
            with self._store.transaction() as session:
                session.execute(sa.insert(RepaymentMonth), [dict(row) for row in rows])

    def count(self, kind: ImportKind) -> int:
        """Return how many rows the table of ``kind`` holds."""
        model = _TABLES[kind][0]
        with self._store.transaction() as session:
            return int(session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)

    def count_repayment_months(self) -> int:
        """Return how many ``repayment_history`` rows exist."""
        with self._store.transaction() as session:
            return int(session.scalar(sa.select(sa.func.count()).select_from(RepaymentMonth)) or 0)

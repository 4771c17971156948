"""Import bookkeeping: batches with their counts, and the quarantine of refused rows."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from gateway.errors import NotFoundError
from gateway.store.database import Store
from gateway.store.enums import ImportKind
from gateway.store.models import ImportBatch, QuarantinedRow


@dataclass(frozen=True)
class QuarantineItem:
    """A refused row, ready to be quarantined.

    Attributes
    ----------
    row_number
        1-based number of the data row in its file (the header is not counted).
    field
        Canonical field at fault (``"row"`` when the row as a whole is malformed).
    reason
        ``"<field>: <what was expected>"``.
    raw_row
        The row's values as read, by column name.

    """

    row_number: int
    field: str
    reason: str
    raw_row: Mapping[str, str]


@dataclass(frozen=True)
class QuarantineRecord:
    """A quarantined row as stored; ``raw_row`` may hold PII and stays local."""

    id: int
    batch_id: int
    kind: ImportKind
    source_file: str
    file_sha256: str
    row_number: int
    field: str
    reason: str
    raw_row: dict[str, str]
    quarantined_at: dt.datetime


@dataclass(frozen=True)
class ImportBatchRecord:
    """One import run with its counts; ``finished_at`` is ``None`` if it did not finish."""

    id: int
    kind: ImportKind
    source_file: str
    file_sha256: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    rows_read: int
    rows_imported: int
    rows_quarantined: int
    rows_duplicate: int


class ImportLedger:
    """Repository over ``import_batches`` and ``import_quarantine``.

    Parameters
    ----------
    store
        The node's store.

    """

    def __init__(self, store: Store) -> None:
        self._store = store

    def start_batch(self, *, kind: ImportKind, source_file: str, file_sha256: str, at: dt.datetime) -> int:
        """Record the start of an import and return the new batch id."""
        with self._store.transaction() as session:
            batch = ImportBatch(
                kind=kind,
                source_file=source_file,
                file_sha256=file_sha256,
                started_at=at,
                finished_at=None,
                rows_read=0,
                rows_imported=0,
                rows_quarantined=0,
                rows_duplicate=0,
            )
            session.add(batch)
            session.flush()
            return batch.id

    def add_counts(self, batch_id: int, *, imported: int, quarantined: int, duplicate: int) -> None:
        """Add one chunk's counts to a batch; ``rows_read`` grows by their sum."""
        with self._store.transaction() as session:
            session.execute(
                sa.update(ImportBatch)
                .where(ImportBatch.id == batch_id)
                .values(
                    rows_read=ImportBatch.rows_read + imported + quarantined + duplicate,
                    rows_imported=ImportBatch.rows_imported + imported,
                    rows_quarantined=ImportBatch.rows_quarantined + quarantined,
                    rows_duplicate=ImportBatch.rows_duplicate + duplicate,
                )
            )

    def finish_batch(self, batch_id: int, *, at: dt.datetime) -> ImportBatchRecord:
        """Mark a batch finished and return it."""
        with self._store.transaction() as session:
            session.execute(sa.update(ImportBatch).where(ImportBatch.id == batch_id).values(finished_at=at))
        return self.batch(batch_id)

    def batch(self, batch_id: int) -> ImportBatchRecord:
        """Return one batch.

        Raises
        ------
        NotFoundError
            When there is no such batch.

        """
        with self._store.transaction() as session:
            batch = session.get(ImportBatch, batch_id)
            if batch is None:
                raise NotFoundError(f"import batch {batch_id} does not exist")
            return _batch_record(batch)

    def batches(self) -> list[ImportBatchRecord]:
        """Return every batch, oldest first."""
        with self._store.transaction() as session:
            batches = session.scalars(sa.select(ImportBatch).order_by(ImportBatch.id))
            return [_batch_record(batch) for batch in batches]

    def quarantine(
        self,
        batch_id: int,
        items: Sequence[QuarantineItem],
        *,
        kind: ImportKind,
        source_file: str,
        file_sha256: str,
        at: dt.datetime,
    ) -> int:
        """Store refused rows not already quarantined for this file; return how many were new.

        A row is identified by the file's SHA-256, the kind and its row number, so
        importing the same file again adds nothing.
        """
        if not items:
            return 0
        numbers = [item.row_number for item in items]
        with self._store.transaction() as session:
            known = set(
                session.scalars(
                    sa.select(QuarantinedRow.row_number).where(
                        QuarantinedRow.file_sha256 == file_sha256,
                        QuarantinedRow.kind == kind,
                        QuarantinedRow.row_number.between(min(numbers), max(numbers)),
                    )
                )
            )
            new = [item for item in items if item.row_number not in known]
            session.add_all(
                QuarantinedRow(
                    batch_id=batch_id,
                    kind=kind,
                    source_file=source_file,
                    file_sha256=file_sha256,
                    row_number=item.row_number,
                    field=item.field[:100],
                    reason=item.reason[:500],
                    raw_row=json.dumps(dict(item.raw_row), ensure_ascii=False, sort_keys=True),
                    quarantined_at=at,
                )
                for item in new
            )
            session.flush()
            return len(new)

    def quarantined(
        self,
        *,
        file_sha256: str | None = None,
        kind: ImportKind | None = None,
    ) -> list[QuarantineRecord]:
        """Return quarantined rows, optionally of one file and kind, by file and row number."""
        query = sa.select(QuarantinedRow).order_by(QuarantinedRow.file_sha256, QuarantinedRow.row_number)
        if file_sha256 is not None:
            query = query.where(QuarantinedRow.file_sha256 == file_sha256)
        if kind is not None:
            query = query.where(QuarantinedRow.kind == kind)
        with self._store.transaction() as session:
            return [_quarantine_record(row) for row in session.scalars(query)]


def _batch_record(batch: ImportBatch) -> ImportBatchRecord:
    return ImportBatchRecord(
        id=batch.id,
        kind=ImportKind(batch.kind),
        source_file=batch.source_file,
        file_sha256=batch.file_sha256,
        started_at=batch.started_at,
        finished_at=batch.finished_at,
        rows_read=batch.rows_read,
        rows_imported=batch.rows_imported,
        rows_quarantined=batch.rows_quarantined,
        rows_duplicate=batch.rows_duplicate,
    )


def _quarantine_record(row: QuarantinedRow) -> QuarantineRecord:
    raw = json.loads(row.raw_row)
    values = {str(key): str(value) for key, value in raw.items()} if isinstance(raw, dict) else {}
    return QuarantineRecord(
        id=row.id,
        batch_id=row.batch_id,
        kind=ImportKind(row.kind),
        source_file=row.source_file,
        file_sha256=row.file_sha256,
        row_number=row.row_number,
        field=row.field,
        reason=row.reason,
        raw_row=values,
        quarantined_at=row.quarantined_at,
    )

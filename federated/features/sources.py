"""Where a member's model rows come from; every source yields (row key, column → cell text).

* the member's store: ``model_rows``, filled by ``credgate import features``
  (validated, quarantined, counted like every import);
* a table of the member's own in the store's database (node config ``features-table``),
  read as it is, every cell through the same rules;
* a CSV file (tests, benchmarks, ``credgate features check --csv``).

:func:`load_table` reads any of them through the spec (:mod:`federated.features.values`)
and refuses the whole source when a spec column is absent or a cell is refused, naming
the column and the row: a member never trains on rows it silently dropped.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from federated.errors import FeatureSpecError
from federated.features.spec import FeatureSpec
from federated.features.table import RawTable
from federated.features.values import ReadColumns, missing_columns, read_columns
from gateway.store.database import Store
from gateway.store.models import ModelRow

__all__ = ["Rows", "csv_rows", "load_table", "own_table_rows", "store_rows"]

Cells = Mapping[str, str | None]
#: Refused cells named in an error message (the member's own log has all of them).
SHOWN_ERRORS = 5


@dataclass(frozen=True)
class Rows:
    """A source's header (column names) and its rows in a stable order."""

    header: tuple[str, ...]
    rows: list[tuple[str, Cells]]
    where: str


def csv_rows(path: Path, spec: FeatureSpec) -> Rows:
    """Read a CSV file (UTF-8, header first); rows are keyed by the spec's key column or number.

    Raises
    ------
    FeatureSpecError
        When the file cannot be read or has no header.

    """
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            header = tuple(reader.fieldnames or ())
            records = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise FeatureSpecError(f"cannot read the feature file {path}: {exc}") from None
    if not header:
        raise FeatureSpecError(f"{path}: expected a header row")
    return Rows(header, _keyed(records, spec, prefix=path.stem), str(path))


def store_rows(store: Store, spec: FeatureSpec) -> Rows:
    """The member's imported model rows validated against ``spec`` (``model_rows``), by id."""
    with store.transaction() as session:
        records = session.execute(
            sa.select(ModelRow.row_ref, ModelRow.cells)
            .where(ModelRow.spec_name == spec.name)
            .order_by(ModelRow.id)
        ).all()
    rows: list[tuple[str, Cells]] = []
    header: set[str] = set()
    for ref, cells in records:
        parsed = json.loads(cells)
        header.update(parsed)
        rows.append((ref, parsed))
    return Rows(tuple(sorted(header)), rows, f"model_rows (spec {spec.name!r})")


def own_table_rows(store: Store, table: str, spec: FeatureSpec) -> Rows:
    """Every row of a table of the member's own in the store's database, cells as text.

    Raises
    ------
    FeatureSpecError
        When the table does not exist.

    """
    with store.transaction() as session:
        connection = session.connection()
        try:
            reflected = sa.Table(table, sa.MetaData(), autoload_with=connection)
        except sa.exc.NoSuchTableError:
            raise FeatureSpecError(f"features-table: the store has no table {table!r}") from None
        records = [dict(row._mapping) for row in connection.execute(sa.select(reflected))]
    header = tuple(column.name for column in reflected.columns)
    texts = [
        {name: None if value is None else str(value) for name, value in record.items()} for record in records
    ]
    return Rows(header, _keyed(texts, spec, prefix=table), f"table {table}")


def load_table(source: Rows, spec: FeatureSpec, *, as_of: dt.date, labelled: bool = True) -> RawTable:
    """Read a source's rows through ``spec``; refuse the source when anything is wrong.

    Raises
    ------
    FeatureSpecError
        Naming the absent columns, or the number of refused cells and the first few
        (row, column, reason).

    """
    absent = missing_columns(spec, source.header, labelled=labelled)
    if absent and source.rows:
        raise FeatureSpecError(f"feature: {source.where} lacks columns {absent}")
    read = read_columns(spec, source.rows, as_of=as_of, labelled=labelled)
    refuse_errors(read, source.where)
    return RawTable.from_read(read)


def refuse_errors(read: ReadColumns, where: str) -> None:
    """Raise when any cell was refused.

    Raises
    ------
    FeatureSpecError
        Naming how many cells were refused and the first few (row, column, reason).

    """
    if not read.errors:
        return
    shown = "; ".join(str(error) for error in read.errors[:SHOWN_ERRORS])
    columns = sorted({error.column for error in read.errors})
    raise FeatureSpecError(
        f"feature: {where}: {len(read.errors)} cells refused in columns {columns}: {shown}"
    )


def _keyed(
    records: Sequence[Mapping[str, str | None]], spec: FeatureSpec, *, prefix: str
) -> list[tuple[str, Cells]]:
    if spec.key is None:
        return [(f"{prefix}:{number}", record) for number, record in enumerate(records, start=1)]
    return [
        (str(record.get(spec.key) or f"{prefix}:{number}"), record)
        for number, record in enumerate(records, start=1)
    ]

"""``credgate import features``: a member's own model columns into ``model_rows``, validated by its spec.

The same guarantees as every import (:mod:`gateway.ingest.runner`): the file and its
mapping are checked before anything is written; every row is imported, quarantined
(with the column and the reason) or counted as a duplicate; each chunk commits with
its counts; importing the same file again adds nothing. The rules are the feature
spec's, read by the same code that training and scoring use
(:func:`federated.features.values.read_cell`), so a row accepted here is a row the
member can train and score on.

Mapping (TOML)::

    kind = "features"
    spec = "credit-risk"            # optional: must be the spec's name

    [columns]                       # spec column = column in the file; unnamed ones map to themselves
    person_income = "annual_income"
    loan_status = "defaulted"       # the target, and the spec's key, map the same way
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from federated.features.spec import FeatureSpec
from federated.features.values import CellError, read_cell, read_target
from gateway.clock import Clock, local_date, system_clock
from gateway.errors import ImportFileError
from gateway.ingest.mapping import read_mapping_file
from gateway.ingest.readers import RawRow, SourceInfo, inspect_source, read_chunks
from gateway.ingest.runner import ImportSummary
from gateway.store.database import Store
from gateway.store.enums import ImportKind
from gateway.store.models import ModelRow
from gateway.store.repositories.imports import ImportLedger, QuarantineItem

__all__ = ["FeatureMapping", "load_feature_mapping", "run_feature_import"]

_REF_LENGTH = 64


@dataclass(frozen=True)
class FeatureMapping:
    """Spec column (features, target, key) → column of the member's file."""

    source: Path
    columns: Mapping[str, str]

    def file_column(self, spec_column: str) -> str:
        """The file's column for a spec column (the same name when unmapped)."""
        return self.columns.get(spec_column, spec_column)


def load_feature_mapping(path: Path, spec: FeatureSpec) -> FeatureMapping:
    """Read and check a features mapping against ``spec``.

    Raises
    ------
    ImportFileError
        When the file is unreadable, names another kind or spec, or maps a column the spec
        does not declare.

    """
    raw = read_mapping_file(path, kind=ImportKind.FEATURES)
    unknown = set(raw) - {"kind", "spec", "columns"}
    if unknown:
        raise ImportFileError(f"{path}: unknown top-level key(s) {', '.join(sorted(unknown))}")
    if "spec" in raw and raw["spec"] != spec.name:
        raise ImportFileError(f"{path}: spec = {raw['spec']!r} but the spec given is {spec.name!r}")
    columns = raw.get("columns", {})
    if not isinstance(columns, dict) or not all(isinstance(v, str) and v for v in columns.values()):
        raise ImportFileError(f"{path}: [columns] must map spec columns to file column names")
    declared = {*spec.columns, spec.target, *([spec.key] if spec.key else [])}
    for name in columns:
        if name not in declared:
            raise ImportFileError(
                f"{path}: [columns] names {name!r}, which spec {spec.name!r} does not declare"
            )
    return FeatureMapping(path, dict(columns))


def run_feature_import(
    store: Store,
    file_path: Path,
    mapping_path: Path,
    spec: FeatureSpec,
    *,
    clock: Clock = system_clock,
    chunk_rows: int = 1000,
) -> ImportSummary:
    """Import a member's model book into ``model_rows``, quarantining refused rows.

    Parameters
    ----------
    store, file_path, mapping_path, spec
        The member's store, its CSV/Parquet file, the features mapping and the feature spec.
    chunk_rows
        Rows per transaction.
    clock
        The one clock: import times, and the consortium-local day that date columns are
        read against (checked here; read again at training time).

    Raises
    ------
    ImportFileError
        When the file or mapping cannot be used, or the file lacks a column the spec needs;
        nothing is written.

    """
    now = clock
    as_of = local_date(clock())
    mapping = load_feature_mapping(mapping_path, spec)
    source = inspect_source(file_path)
    wanted = [*spec.columns, spec.target]
    absent = [c for c in wanted if mapping.file_column(c) not in source.header]
    if absent:
        raise ImportFileError(
            f"{file_path} lacks the column(s) spec {spec.name!r} needs: "
            + ", ".join(f"{c!r} (file column {mapping.file_column(c)!r})" for c in absent)
        )
    ledger = ImportLedger(store)
    batch_id = ledger.start_batch(
        kind=ImportKind.FEATURES, source_file=str(file_path), file_sha256=source.sha256, at=now()
    )
    totals = [0, 0, 0]
    for chunk in read_chunks(source, chunk_rows=chunk_rows):
        counts = _import_chunk(store, chunk, spec, mapping, source, batch_id, as_of=as_of, at=now())
        totals = [a + b for a, b in zip(totals, counts, strict=True)]
    ledger.finish_batch(batch_id, at=now())
    imported, quarantined, duplicates = totals
    return ImportSummary(
        batch_id=batch_id,
        kind=ImportKind.FEATURES,
        source_file=str(file_path),
        file_sha256=source.sha256,
        rows_read=imported + quarantined + duplicates,
        rows_imported=imported,
        rows_quarantined=quarantined,
        rows_duplicate=duplicates,
        quarantine_added=quarantined,
    )


def _import_chunk(
    store: Store,
    chunk: Sequence[RawRow],
    spec: FeatureSpec,
    mapping: FeatureMapping,
    source: SourceInfo,
    batch_id: int,
    *,
    as_of: dt.date,
    at: dt.datetime,
) -> tuple[int, int, int]:
    accepted: dict[str, str] = {}
    refused: list[QuarantineItem] = []
    duplicates = 0
    for raw in chunk:
        if raw.problem is not None:
            refused.append(QuarantineItem(raw.row_number, "row", raw.problem, raw.values))
            continue
        try:
            ref, cells = _validated(raw, spec, mapping, source, as_of=as_of)
        except _Refused as exc:
            refused.append(QuarantineItem(raw.row_number, exc.column, f"{exc.column}: {exc}", raw.values))
            continue
        if ref in accepted:
            duplicates += 1
            continue
        accepted[ref] = json.dumps(cells, sort_keys=True, ensure_ascii=False)
    ledger = ImportLedger(store)
    with store.transaction() as session:
        existing = set(
            session.scalars(sa.select(ModelRow.row_ref).where(ModelRow.row_ref.in_(list(accepted))))
        )
        duplicates += len(existing)
        new = {ref: cells for ref, cells in accepted.items() if ref not in existing}
        session.add_all(
            ModelRow(row_ref=ref, spec_name=spec.name, cells=cells, imported_at=at)
            for ref, cells in new.items()
        )
        session.flush()
        ledger.quarantine(
            batch_id,
            refused,
            kind=ImportKind.FEATURES,
            source_file=str(source.path),
            file_sha256=source.sha256,
            at=at,
        )
        ledger.add_counts(batch_id, imported=len(new), quarantined=len(refused), duplicate=duplicates)
    return len(new), len(refused), duplicates


class _Refused(ValueError):
    def __init__(self, column: str, reason: str) -> None:
        super().__init__(reason)
        self.column = column


def _validated(
    raw: RawRow, spec: FeatureSpec, mapping: FeatureMapping, source: SourceInfo, *, as_of: dt.date
) -> tuple[str, dict[str, str | None]]:
    cells: dict[str, str | None] = {}
    for feature in spec.features:
        text = raw.values.get(mapping.file_column(feature.column))
        try:
            read_cell(feature, text, as_of=as_of)
        except CellError as exc:
            raise _Refused(feature.column, str(exc)) from None
        cells[feature.column] = text.strip() if text is not None and text.strip() else None
    target = raw.values.get(mapping.file_column(spec.target))
    try:
        read_target(target)
    except CellError as exc:
        raise _Refused(spec.target, str(exc)) from None
    cells[spec.target] = (target or "").strip()
    if spec.key is not None and mapping.file_column(spec.key) in raw.values:
        ref = (raw.values.get(mapping.file_column(spec.key)) or "").strip()
        if not ref or len(ref) > _REF_LENGTH:
            raise _Refused(spec.key, f"expected a row reference of 1 to {_REF_LENGTH} characters")
    else:
        ref = f"{source.sha256[:12]}:{raw.row_number}"
    return ref, cells

"""Property: whatever a file holds, every row is imported, quarantined or a duplicate."""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.ingest import ImportKind, run_import
from gateway.store import open_store
from gateway.store.repositories import CreditRecords, ImportLedger

from .samples import account, borrower, identity_mapping, write_csv

_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=20)
_SAMPLES = {"borrowers": borrower, "accounts": account}
_COUNTER = itertools.count()


@st.composite
def _rows(draw: st.DrawFn, kind: str) -> list[dict[str, str]]:
    count = draw(st.integers(min_value=1, max_value=12))
    rows = []
    for _ in range(count):
        seq = draw(st.integers(min_value=1, max_value=4))  # small pool: duplicates happen
        row = _SAMPLES[kind](seq)
        for field in list(row):
            if draw(st.integers(min_value=0, max_value=9)) == 0:
                row[field] = draw(_TEXT)
        rows.append(row)
    return rows


@pytest.mark.parametrize("kind", ["borrowers", "accounts"])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_counts_always_add_up(template_db: Path, tmp_path: Path, kind: str, data: st.DataObject) -> None:
    # Prepare
    rows = data.draw(_rows(kind))
    folder = tmp_path / f"example-{next(_COUNTER)}"
    folder.mkdir()
    shutil.copy(template_db, folder / "store.db")
    store = open_store(f"sqlite:///{folder / 'store.db'}")
    try:
        if kind == "accounts":
            parents = write_csv(folder / "b.csv", [borrower(1), borrower(2)])
            run_import(
                store,
                "borrowers",
                parents,
                identity_mapping(folder / "b.toml", "borrowers", list(borrower(1))),
            )
        path = write_csv(folder / "rows.csv", rows)
        mapping = identity_mapping(folder / "m.toml", kind, list(rows[0]))
        before = CreditRecords(store).count(ImportKind(kind))

        # Execute
        first = run_import(store, kind, path, mapping)
        second = run_import(store, kind, path, mapping)

        # Assert
        assert first.rows_read == len(rows)
        assert first.rows_read == first.rows_imported + first.rows_quarantined + first.rows_duplicate
        assert CreditRecords(store).count(ImportKind(kind)) == before + first.rows_imported
        assert len(ImportLedger(store).quarantined(file_sha256=first.file_sha256)) == first.rows_quarantined
        assert first.quarantine_added == first.rows_quarantined
        assert second.rows_read == len(rows)
        assert (second.rows_imported, second.quarantine_added) == (0, 0)
        assert second.rows_read == second.rows_imported + second.rows_quarantined + second.rows_duplicate
    finally:
        store.close()

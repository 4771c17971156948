"""Features read from a member's store equal those read from the CSV for the same rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from federated.features.csv_source import load_csv_table
from federated.features.spec import load_spec
from federated.features.store_source import load_store_table
from federated.settings import DEFAULT_SPEC
from gateway.store import open_store
from gateway.synth.uci import load_dataset

from .conftest import DATA
from .stores import AS_OF, build_store


def test_store_and_csv_give_the_same_matrix(tmp_path: Path) -> None:
    rows = list(load_dataset(DATA).rows[:400])
    url, _ = build_store(tmp_path / "m.db", rows, seed=3)
    spec = load_spec(DEFAULT_SPEC)
    store = open_store(url)
    from_store = load_store_table(store, as_of=AS_OF)
    store.close()
    from_csv = load_csv_table(DATA).take(np.arange(400, dtype=np.int64))
    assert np.array_equal(from_store.labels, from_csv.labels)
    assert np.array_equal(from_store.matrix(spec), from_csv.matrix(spec))
    assert all("-" in key for key in from_store.keys)  # account references, not PII

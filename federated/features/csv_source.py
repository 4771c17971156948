"""Features from the UCI CSV, and the benchmark's non-IID split of it across members.

The split used by tests and benchmarks: a stratified 20 % test set is held out
with a fixed seed, and the remaining rows are cut into ``num_partitions`` groups of
equal size by ``LIMIT_BAL`` rank (quintiles for five members), so members differ in
credit limit and default rate the way real loan books do.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from federated.features.table import IntArray, RawTable, stratified_split
from gateway.synth.uci import BILL_COLUMNS, PAID_COLUMNS, PAY_COLUMNS, load_dataset

__all__ = ["TEST_FRACTION", "holdout_split", "load_csv_table", "partition"]

TEST_FRACTION = 0.2
SPLIT_SEED = 20240531


def load_csv_table(path: Path) -> RawTable:
    """Read the UCI CSV into a raw table (columns under their UCI names).

    Raises
    ------
    gateway.errors.ConfigError
        When the file is unreadable or lacks a column.

    """
    rows = load_dataset(path).rows
    columns: dict[str, list[float]] = {
        "LIMIT_BAL": [r.limit_bal for r in rows],
        "SEX": [r.sex for r in rows],
        "EDUCATION": [r.education for r in rows],
        "MARRIAGE": [r.marriage for r in rows],
        "AGE": [r.age for r in rows],
    }
    for i, name in enumerate(PAY_COLUMNS):
        columns[name] = [r.pay[i] for r in rows]
    for i, name in enumerate(BILL_COLUMNS):
        columns[name] = [r.bill[i] for r in rows]
    for i, name in enumerate(PAID_COLUMNS):
        columns[name] = [r.paid[i] for r in rows]
    return RawTable(
        {name: np.asarray(values, dtype=np.float64) for name, values in columns.items()},
        np.asarray([r.defaulted for r in rows], dtype=np.int64),
        tuple(str(r.row_id) for r in rows),
    )


def holdout_split(table: RawTable, *, seed: int = SPLIT_SEED) -> tuple[IntArray, IntArray]:
    """Return (pool, test) row positions: a stratified 20 % test set and the rest."""
    return stratified_split(table.labels, fraction=TEST_FRACTION, seed=seed)


def partition(table: RawTable, *, partition_id: int, num_partitions: int, seed: int = SPLIT_SEED) -> RawTable:
    """Return one member's rows: its ``LIMIT_BAL``-rank group of the non-test pool.

    Parameters
    ----------
    table
        The whole CSV.
    partition_id
        0-based member index; 0 holds the lowest credit limits.
    num_partitions
        Number of members.
    seed
        Seed of the test split and of the tie-break between equal limits.

    """
    pool, _ = holdout_split(table, seed=seed)
    rng = np.random.default_rng(seed + 1)
    tiebreak = rng.random(pool.size)
    order = pool[np.lexsort((tiebreak, table.columns["LIMIT_BAL"][pool]))]
    groups = np.array_split(order, num_partitions)
    return table.take(np.sort(groups[partition_id]))

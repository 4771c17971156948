"""Cutting one loan book into a consortium: a stratified test set, then members by segment or at random.

Used by ``credgate synth --book`` (each lender's model book), the benchmarks and the
tests. A seeded, stratified ``test_fraction`` of the rows is held aside (the
benchmark's common test set); the rest is split across ``parts`` members:

* ``by = "random"`` — a seeded shuffle cut into equal parts;
* ``by = <category column>`` — each distinct value goes whole to one member, the most
  frequent first, always to the member holding the fewest rows so far (so members
  differ in what they lend for, the way real books do);
* ``by = <number column>`` — equal-size groups by rank of the value (ties broken at random).

Nothing here knows any column name: ``by`` is whatever the caller names.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np

from federated.errors import FeatureSpecError
from federated.features.sources import Cells, Rows
from federated.features.table import stratified_split
from federated.features.values import CellError, read_target

__all__ = ["RANDOM", "SPLIT_SEED", "TEST_FRACTION", "BookSplit", "split_book"]

TEST_FRACTION = 0.2
SPLIT_SEED = 20240531
RANDOM = "random"


@dataclass(frozen=True)
class BookSplit:
    """The held-aside test rows and each member's rows (sources with the book's header)."""

    test: Rows
    members: tuple[Rows, ...]


def split_book(
    book: Rows,
    *,
    target: str,
    by: str,
    parts: int,
    seed: int = SPLIT_SEED,
    test_fraction: float = TEST_FRACTION,
) -> BookSplit:
    """Hold out a stratified test set, then split the rest into ``parts`` members.

    Raises
    ------
    FeatureSpecError
        When ``by`` names no column of the book, or a category column has fewer
        distinct values than members.

    """
    if parts < 1:
        raise FeatureSpecError(f"partition: expected at least one member, received {parts}")
    labels = np.asarray([_label(cells.get(target)) for _, cells in book.rows], dtype=np.int64)
    pool, test = stratified_split(labels, fraction=test_fraction, seed=seed)
    rng = np.random.default_rng(seed + 1)
    if by == RANDOM:
        shuffled = pool.copy()
        rng.shuffle(shuffled)
        groups = [np.sort(g) for g in np.array_split(shuffled, parts)]
    else:
        if by not in book.header:
            raise FeatureSpecError(
                f"partition-by: the book has no column {by!r} (columns: {list(book.header)})"
            )
        cells = [book.rows[i][1].get(by) for i in pool]
        numbers = [_number(c) for c in cells]
        if all(n is not None for n in numbers):
            order = pool[np.lexsort((rng.random(pool.size), np.asarray(numbers, dtype=np.float64)))]
            groups = [np.sort(g) for g in np.array_split(order, parts)]
        else:
            groups = _by_value(pool, [str(c or "").strip() for c in cells], parts, by)
    return BookSplit(
        _subset(book, test, "test"), tuple(_subset(book, g, f"member {i}") for i, g in enumerate(groups))
    )


def _by_value(pool: np.ndarray, values: list[str], parts: int, column: str) -> list[np.ndarray]:
    counts = Counter(values)
    if len(counts) < parts:
        raise FeatureSpecError(
            f"partition-by: column {column!r} has {len(counts)} distinct values, fewer than {parts} members"
        )
    assigned: dict[str, int] = {}
    sizes = [0] * parts
    for value, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        member = min(range(parts), key=lambda i: (sizes[i], i))
        assigned[value] = member
        sizes[member] += count
    owner = np.asarray([assigned[v] for v in values], dtype=np.int64)
    return [np.sort(pool[owner == i]) for i in range(parts)]


def _subset(book: Rows, positions: np.ndarray, name: str) -> Rows:
    rows: list[tuple[str, Cells]] = [book.rows[i] for i in positions.tolist()]
    return Rows(book.header, rows, f"{book.where} ({name})")


def _label(text: str | None) -> int:
    try:
        return read_target(text)
    except CellError:
        return -1  # Refused later, when the member reads its rows through the spec.


def _number(text: str | None) -> float | None:
    try:
        value = float(str(text))
    except ValueError:
        return None
    return value if math.isfinite(value) else None

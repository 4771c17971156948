"""Each lender's model book: the rows and columns it trains the shared model on (``features.csv``).

Two books ship with the repository, each with its feature spec:

* ``uci`` — the lender's own synthetic accounts, one row per account carrying the UCI
  columns of the row it was built from (``policies/features/uci-taiwan.toml``); the
  benchmarks cut the UCI file itself by its segment column (credit-limit rank);
* ``credit-risk`` — ``data/credit_risk/credit_risk_dataset.csv`` cut across the
  lenders by ``loan_intent`` (``split="segment"``) or at random
  (``policies/features/credit-risk.toml``), each loan named ``<member>-L<n>``.

Each lender gets ``features.csv`` and ``features.mapping.toml`` (kind ``features``),
imported with ``credgate import features … --spec SPEC`` like any member's own book.
This module and the two specs are the only places that name these columns.
"""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from gateway.config import default_policies_dir
from gateway.errors import InvalidInputError
from gateway.synth.consortium import ConsortiumResult
from gateway.synth.records import AccountRecord
from gateway.synth.uci import BILL_COLUMNS, DEFAULT_DATASET, PAID_COLUMNS, PAY_COLUMNS, UCIRow

__all__ = ["BOOKS", "Book", "book_spec", "external_book", "uci_cells", "write_book", "write_model_books"]

BookName = Literal["uci", "credit-risk"]
Split = Literal["segment", "random"]
_ROOT = Path(__file__).resolve().parents[2]
CREDIT_RISK_CSV = _ROOT / "data" / "credit_risk" / "credit_risk_dataset.csv"
UCI_CSV = DEFAULT_DATASET
FEATURES_FILE, FEATURES_MAPPING = "features.csv", "features.mapping.toml"


@dataclass(frozen=True)
class Book:
    """A shipped book: its feature spec file and, for an external book, how it is split."""

    name: BookName
    spec_file: str
    segment_column: str | None = None
    csv_file: Path | None = None


BOOKS: dict[str, Book] = {
    # In the demo a UCI lender's book is its own synthetic accounts; the benchmarks and tests cut
    # the UCI file itself by credit-limit rank.
    "uci": Book("uci", "uci-taiwan.toml", segment_column="LIMIT_BAL", csv_file=UCI_CSV),
    "credit-risk": Book(
        "credit-risk", "credit-risk.toml", segment_column="loan_intent", csv_file=CREDIT_RISK_CSV
    ),
}


def book_spec(name: str) -> Path:
    """The feature spec file of a shipped book.

    Raises
    ------
    InvalidInputError
        When the book is unknown.

    """
    if name not in BOOKS:
        raise InvalidInputError(f"expected one of {sorted(BOOKS)}, received {name!r}", field="book")
    return default_policies_dir() / "features" / BOOKS[name].spec_file


def uci_cells(row: UCIRow, ref: str) -> dict[str, str]:
    """One UCI row as the cells of the uci-taiwan spec (``ID`` = the lender's account reference)."""
    cells = {
        "ID": ref,
        "LIMIT_BAL": str(row.limit_bal),
        "SEX": str(row.sex),
        "EDUCATION": str(row.education),
        "MARRIAGE": str(row.marriage),
        "AGE": str(row.age),
    }
    for i in range(6):
        cells[PAY_COLUMNS[i]], cells[BILL_COLUMNS[i]], cells[PAID_COLUMNS[i]] = (
            str(row.pay[i]), str(row.bill[i]), str(row.paid[i]),
        )  # fmt: skip
    cells["default_next_month"] = str(row.defaulted)
    return cells


def write_model_books(
    result: ConsortiumResult,
    out: Path,
    *,
    book: str = "uci",
    split: Split = "segment",
    rows: int | None = None,
) -> dict[str, int]:
    """Write each lender's ``features.csv`` and mapping under ``out/<member>/``; return rows per lender.

    Parameters
    ----------
    result, out
        The generated consortium and the folder it was written to.
    book, split
        Which shipped book, and (credit-risk) split by segment or at random.
    rows
        For ``credit-risk``: use a seeded sample of this many loans (all when ``None``).

    Raises
    ------
    InvalidInputError
        When the book is unknown or its file cannot be read.

    """
    book_spec(book)  # Refuses an unknown book before anything is written.
    lenders = [data for data in result.members if data.member.role.is_lender]
    books: dict[str, list[dict[str, str]]] = {}
    if book == "uci":
        for data in lenders:
            books[data.member.member_id] = [
                uci_cells(record.account.row, data.book.account(record.account))
                for record in data.records["accounts"]
                if isinstance(record, AccountRecord)
            ]
    else:
        books = external_book(
            book, [d.member.member_id for d in lenders], split=split, rows=rows, seed=result.options.seed
        )
    return {
        member_id: write_book(out / member_id, member_id, cells, book=book)
        for member_id, cells in books.items()
    }


def write_book(folder: Path, member_id: str, cells: list[dict[str, str]], *, book: str) -> int:
    """Write one lender's ``features.csv`` and its import mapping into ``folder``; return its rows."""
    spec_name = book_spec(book).stem
    folder.mkdir(parents=True, exist_ok=True)
    (folder / FEATURES_FILE).write_text(_csv(cells), encoding="utf-8")
    (folder / FEATURES_MAPPING).write_text(
        f"# {book} model book of {member_id}; import: credgate import features {FEATURES_FILE}"
        f" --mapping {FEATURES_MAPPING} --spec policies/features/{spec_name}.toml\n"
        f'kind = "features"\nspec = "{spec_name}"\n',
        encoding="utf-8",
    )
    return len(cells)


def external_book(
    name: str, members: list[str], *, split: Split, rows: int | None, seed: int
) -> dict[str, list[dict[str, str]]]:
    """A shipped external book cut across ``members`` (by its segment column or at random).

    Each row gets the spec's key column, ``<member>-L<n>``. ``rows`` takes a seeded sample.

    Raises
    ------
    InvalidInputError
        When ``name`` is not an external book.

    """
    from federated.features.sources import csv_rows
    from federated.features.spec import load_spec
    from federated.features.splits import RANDOM, split_book

    shipped = BOOKS.get(name)
    if shipped is None or shipped.csv_file is None:
        raise InvalidInputError(f"expected an external book, received {name!r}", field="book")
    spec = load_spec(book_spec(name))
    book = csv_rows(shipped.csv_file, spec)
    if rows is not None and rows < len(book.rows):
        sample = sorted(random.Random(f"credgate-books/{seed}").sample(range(len(book.rows)), rows))
        book = type(book)(book.header, [book.rows[i] for i in sample], book.where)
    by = shipped.segment_column if split == "segment" else RANDOM
    parts = split_book(
        book, target=spec.target, by=by or RANDOM, parts=len(members), test_fraction=0.0, seed=seed
    )
    key = spec.key or "row_ref"
    out: dict[str, list[dict[str, str]]] = {}
    for member_id, part in zip(members, parts.members, strict=True):
        out[member_id] = [
            {key: f"{member_id}-L{n:06d}", **{k: v or "" for k, v in cells.items() if k}}
            for n, (_, cells) in enumerate(part.rows, start=1)
        ]
    return out


def _csv(rows: list[dict[str, str]]) -> str:
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return buffer.getvalue()

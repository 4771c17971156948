"""Reader for the UCI "default of credit card clients" data set (Yeh & Lien, 2009).

The file ships at ``data/uci_taiwan_default.csv`` in the repository root. Some
round amounts were saved by a spreadsheet in scientific notation
(``1.00E+05``); they are read as exact integers and anything non-integral is
rejected.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from gateway.errors import ConfigError, InvalidInputError

#: Default location: ``<repository root>/data/uci_taiwan_default.csv``.
DEFAULT_DATASET = Path(__file__).resolve().parents[2] / "data" / "uci_taiwan_default.csv"

PAY_COLUMNS = ("PAY_0", "PAY_2", "PAY_3", "PAY_4", "PAY_5", "PAY_6")
BILL_COLUMNS = tuple(f"BILL_AMT{i}" for i in range(1, 7))
PAID_COLUMNS = tuple(f"PAY_AMT{i}" for i in range(1, 7))
_SCALARS = ("ID", "LIMIT_BAL", "SEX", "EDUCATION", "MARRIAGE", "AGE", "default_next_month")


@dataclass(frozen=True, slots=True)
class UCIRow:
    """One credit-card account of the UCI data set.

    Attributes
    ----------
    row_id
        The data set's ``ID``.
    limit_bal
        Credit limit (NT$).
    sex, education, marriage, age
        Holder attributes as coded in the data set.
    pay
        Repayment status, most recent month first (PAY_0, PAY_2 … PAY_6).
    bill
        Statement balances, most recent first (BILL_AMT1 … BILL_AMT6).
    paid
        Amounts paid, most recent first (PAY_AMT1 … PAY_AMT6).
    defaulted
        ``default_next_month``: 1 when the holder defaulted.

    """

    row_id: int
    limit_bal: int
    sex: int
    education: int
    marriage: int
    age: int
    pay: tuple[int, ...]
    bill: tuple[int, ...]
    paid: tuple[int, ...]
    defaulted: int


@dataclass(frozen=True, slots=True)
class UCIDataset:
    """The rows of the data set and the SHA-256 of the file they came from.

    Attributes
    ----------
    rows
        Every row in file order.
    sha256
        Hex digest of the file bytes.

    """

    rows: tuple[UCIRow, ...]
    sha256: str


def parse_amount(text: str, *, column: str) -> int:
    """Return an integer cell value, accepting spreadsheet scientific notation.

    Parameters
    ----------
    text
        Cell text such as ``-2``, ``3913`` or ``1.00E+05``.
    column
        Column name, for the error message.

    Returns
    -------
    int
        The exact integer value.

    Raises
    ------
    InvalidInputError
        When the cell is not an integral number.

    """
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise InvalidInputError(f"expected an integer, received {text!r}", field=column) from None
    if value != value.to_integral_value():
        raise InvalidInputError(f"expected an integer, received {text!r}", field=column)
    return int(value)


def load_dataset(path: Path | None = None) -> UCIDataset:
    """Read the UCI data set.

    Parameters
    ----------
    path
        CSV file; :data:`DEFAULT_DATASET` when ``None``.

    Returns
    -------
    UCIDataset
        All rows and the file's SHA-256.

    Raises
    ------
    ConfigError
        When the file cannot be read or lacks a required column.
    InvalidInputError
        When a cell is not an integer.

    """
    source = path or DEFAULT_DATASET
    try:
        raw = source.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read the UCI data set at {source}") from exc
    reader = csv.reader(raw.decode("utf-8-sig").splitlines())
    header = next(reader, [])
    missing = set((*_SCALARS, *PAY_COLUMNS, *BILL_COLUMNS, *PAID_COLUMNS)) - set(header)
    if missing:
        raise ConfigError(f"UCI data set {source.name} lacks columns {sorted(missing)}")
    position = {column: header.index(column) for column in header}
    rows = tuple(_row(record, position) for record in reader if record)
    if not rows:
        raise ConfigError(f"UCI data set {source.name} has no rows")
    return UCIDataset(rows=rows, sha256=hashlib.sha256(raw).hexdigest())


def _row(record: list[str], position: dict[str, int]) -> UCIRow:
    def value(column: str) -> int:
        try:
            return parse_amount(record[position[column]], column=column)
        except IndexError:
            raise InvalidInputError("row is shorter than the header", field=column) from None

    return UCIRow(
        row_id=value("ID"),
        limit_bal=value("LIMIT_BAL"),
        sex=value("SEX"),
        education=value("EDUCATION"),
        marriage=value("MARRIAGE"),
        age=value("AGE"),
        pay=tuple(value(column) for column in PAY_COLUMNS),
        bill=tuple(value(column) for column in BILL_COLUMNS),
        paid=tuple(value(column) for column in PAID_COLUMNS),
        defaulted=value("default_next_month"),
    )

"""Streaming readers for CSV (UTF-8, with or without BOM) and Parquet files.

:func:`inspect_source` reads the whole file once before anything is written:
it hashes it, checks the encoding (CSV) or the metadata (Parquet) and counts
the rows, so an unreadable file fails with nothing imported. :func:`read_chunks`
then streams the rows in chunks; memory stays bounded by the chunk size.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO, Literal

import pyarrow as pa
import pyarrow.parquet as pq

from gateway.errors import ImportFileError

FileFormat = Literal["csv", "parquet"]
_FORMATS: dict[str, FileFormat] = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
_HASH_BLOCK = 1 << 20


@dataclass(frozen=True)
class SourceInfo:
    """What :func:`inspect_source` learnt about a data file."""

    path: Path
    format: FileFormat
    header: tuple[str, ...]
    total_rows: int
    sha256: str


@dataclass(frozen=True)
class RawRow:
    """One data row as text, by column; ``problem`` is set when the row is malformed.

    ``row_number`` counts data rows from 1 (the header is not a row; blank CSV
    lines are skipped and not counted).
    """

    row_number: int
    values: dict[str, str]
    problem: str | None = None


def inspect_source(path: Path) -> SourceInfo:
    """Check that ``path`` is a readable CSV or Parquet file and describe it.

    Raises
    ------
    ImportFileError
        When the file is missing, has another extension, is not valid UTF-8 or
        CSV, is not a Parquet file, has no header or repeats a column name.

    """
    file_format = _FORMATS.get(path.suffix.lower())
    if file_format is None:
        suffix = path.suffix or "no extension"
        raise ImportFileError(f"{path}: expected a .csv or .parquet file, got {suffix!r}")
    if not path.is_file():
        raise ImportFileError(f"{path}: no such file")
    if file_format == "csv":
        return _inspect_csv(path)
    return _inspect_parquet(path)


def read_chunks(source: SourceInfo, *, chunk_rows: int) -> Iterator[list[RawRow]]:
    """Yield the data rows of an inspected file, ``chunk_rows`` at a time.

    Raises
    ------
    ImportFileError
        When the file changed since it was inspected or cannot be decoded.

    """
    rows = _csv_rows(source) if source.format == "csv" else _parquet_rows(source, chunk_rows)
    chunk: list[RawRow] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= chunk_rows:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _check_header(path: Path, header: list[str]) -> tuple[str, ...]:
    names = tuple(name.strip() for name in header)
    if not names or not any(names):
        raise ImportFileError(f"{path}: the first line must be a header naming the columns")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        listed = ", ".join(map(repr, repeated))
        raise ImportFileError(f"{path}: column name(s) {listed} appear more than once")
    return names


def _decoded_lines(path: Path, handle: BinaryIO, hasher: Any | None) -> Iterator[str]:
    """Decode UTF-8 (an optional BOM is dropped) line by line, naming the line on error."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="strict")
    for line_number, raw in enumerate(handle, start=1):
        if hasher is not None:
            hasher.update(raw)
        try:
            yield decoder.decode(raw)
        except UnicodeDecodeError as exc:
            raise ImportFileError(
                f"{path}: line {line_number} is not valid UTF-8 ({exc.reason}); save the file as UTF-8"
            ) from exc
    try:
        tail = decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise ImportFileError(f"{path}: the file ends inside a UTF-8 character") from exc
    if tail:
        yield tail


def _inspect_csv(path: Path) -> SourceInfo:
    hasher = hashlib.sha256()
    rows = 0
    try:
        with path.open("rb") as handle:
            reader = csv.reader(_decoded_lines(path, handle, hasher), strict=True)
            header = _check_header(path, next(reader, []))
            for record in reader:
                if record:
                    rows += 1
    except csv.Error as exc:
        raise ImportFileError(f"{path}: not a valid CSV file near data row {rows + 1}: {exc}") from exc
    except OSError as exc:
        raise ImportFileError(f"{path}: cannot read file: {exc.strerror}") from exc
    return SourceInfo(path=path, format="csv", header=header, total_rows=rows, sha256=hasher.hexdigest())


def _csv_rows(source: SourceInfo) -> Iterator[RawRow]:
    width = len(source.header)
    try:
        with source.path.open("rb") as handle:
            reader = csv.reader(_decoded_lines(source.path, handle, None), strict=True)
            next(reader, None)
            number = 0
            for record in reader:
                if not record:
                    continue
                number += 1
                values = dict(zip(source.header, record, strict=False))
                problem = None
                if len(record) != width:
                    problem = f"expected {width} columns, found {len(record)}"
                    padded = [*record, *([""] * (width - len(record)))]
                    values = dict(zip(source.header, padded, strict=False))
                    values.update({f"_extra_{i}": cell for i, cell in enumerate(record[width:], start=1)})
                yield RawRow(number, values, problem)
    except (csv.Error, OSError) as exc:
        raise ImportFileError(f"{source.path}: file could not be read again after inspection: {exc}") from exc


def _inspect_parquet(path: Path) -> SourceInfo:
    hasher = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            while block := handle.read(_HASH_BLOCK):
                hasher.update(block)
        parquet = pq.ParquetFile(path)
        header = _check_header(path, list(parquet.schema_arrow.names))
        total = int(parquet.metadata.num_rows)
    except (pa.ArrowException, OSError) as exc:
        raise ImportFileError(f"{path}: not a readable Parquet file: {exc}") from exc
    return SourceInfo(path=path, format="parquet", header=header, total_rows=total, sha256=hasher.hexdigest())


def _parquet_rows(source: SourceInfo, chunk_rows: int) -> Iterator[RawRow]:
    number = 0
    try:
        parquet = pq.ParquetFile(source.path)
        for batch in parquet.iter_batches(batch_size=chunk_rows):
            for record in batch.to_pylist():
                number += 1
                yield RawRow(number, {str(key): _cell_text(value) for key, value in record.items()})
    except (pa.ArrowException, OSError) as exc:
        raise ImportFileError(f"{source.path}: Parquet data unreadable after row {number}: {exc}") from exc


def _cell_text(value: object) -> str:
    """Render a Parquet cell as the text a CSV would hold, so one set of parsers serves both."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else format(Decimal(repr(value)), "f")
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)

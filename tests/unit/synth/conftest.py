"""Fixtures: one synthetic consortium written once per module, and readers for its files."""

from __future__ import annotations

import csv
import datetime as dt
import json
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gateway.synth import Composition, ConsortiumResult, SynthOptions, generate_consortium, write_consortium
from gateway.synth.uci import UCIDataset, load_dataset

PEOPLE = 2000
# The generator's reference date is an input: it never reads the clock, so a fixed date never ages.
AS_OF = dt.date(2026, 10, 31)
SEED = 20261031

ReadCanonical = Callable[[str, str], list[dict[str, str]]]


@pytest.fixture(scope="session")
def dataset() -> UCIDataset:
    return load_dataset()


@pytest.fixture(scope="session")
def consortium() -> ConsortiumResult:
    composition = Composition.parse("bank=3,consumer_finance=1,micro_lender=1,agency=2")
    return generate_consortium(SynthOptions(people=PEOPLE, seed=SEED, composition=composition, as_of=AS_OF))


@pytest.fixture(scope="session")
def out_dir(consortium: ConsortiumResult, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth")
    write_consortium(consortium, out)
    return out


@pytest.fixture(scope="session")
def manifest(out_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out_dir / "manifest.json").read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="session")
def truth(out_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out_dir / "truth.json").read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="session")
def member_ids(manifest: dict[str, Any]) -> list[str]:
    return [member["id"] for member in manifest["members"]]


def read_mapping(folder: Path, kind: str) -> dict[str, Any]:
    return tomllib.loads((folder / f"{kind}.mapping.toml").read_text(encoding="utf-8"))


def read_header_and_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:]


@pytest.fixture(scope="session")
def read_canonical(out_dir: Path) -> ReadCanonical:
    """Read a member's file and rename its columns to canonical fields, as the importer will."""
    cache: dict[tuple[str, str], list[dict[str, str]]] = {}

    def read(member_id: str, kind: str) -> list[dict[str, str]]:
        if (member_id, kind) not in cache:
            folder = out_dir / member_id
            columns = read_mapping(folder, kind)["columns"]
            header, rows = read_header_and_rows(folder / f"{kind}.csv")
            position = {column: header.index(column) for column in header}
            cache[(member_id, kind)] = [
                {field: row[position[column]] for field, column in columns.items()} for row in rows
            ]
        return cache[(member_id, kind)]

    return read

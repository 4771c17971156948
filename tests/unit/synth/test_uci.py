from __future__ import annotations

from pathlib import Path

import pytest

from gateway.errors import ConfigError, InvalidInputError
from gateway.synth.uci import UCIDataset, load_dataset, parse_amount


def test_spreadsheet_scientific_notation_is_read_exactly() -> None:
    assert parse_amount("1.00E+05", column="LIMIT_BAL") == 100_000
    assert parse_amount("-2", column="PAY_0") == -2


def test_non_integral_amounts_are_rejected() -> None:
    with pytest.raises(InvalidInputError):
        parse_amount("1.5", column="BILL_AMT1")
    with pytest.raises(InvalidInputError):
        parse_amount("abc", column="BILL_AMT1")


def test_the_repository_copy_has_30000_rows_and_the_published_default_rate(dataset: UCIDataset) -> None:
    assert len(dataset.rows) == 30_000
    assert sum(row.defaulted for row in dataset.rows) == 6_636


def test_a_missing_or_incomplete_dataset_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        load_dataset(tmp_path / "absent.csv")
    partial = tmp_path / "partial.csv"
    partial.write_text("ID,LIMIT_BAL\n1,20000\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="lacks columns"):
        load_dataset(partial)

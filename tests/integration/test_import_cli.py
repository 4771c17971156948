"""The ``import`` command, driven through Typer's CliRunner on a test application."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from gateway.cli.importing import (
    EXIT_IMPORT_ALL_REJECTED,
    EXIT_IMPORT_FILE_INVALID,
    PROGRESS_MIN_ROWS,
    _ProgressBar,
    register,
)
from gateway.identifiers import resident_id_check_char
from gateway.ingest import ImportProgress
from gateway.store import open_store
from gateway.store.enums import ImportKind
from gateway.store.repositories import CreditRecords


def _resident_id(seq: int) -> str:
    first17 = f"11010119900101{seq:03d}"
    return first17 + resident_id_check_char(first17)


@pytest.fixture
def app() -> typer.Typer:
    application = typer.Typer()

    @application.callback()
    def main() -> None:
        """Test application (a callback keeps ``import`` a sub-command)."""

    register(application)
    return application


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    data = tmp_path / "customers.csv"
    lines = ["cust_no,id_no,name,phone,addr,prov"]
    lines += [f"C{i},{_resident_id(i)},客户{i},138{i:08d},上海市,上海" for i in range(1, 4)]
    lines.append("C9,123,bad,138000,上海市,上海")
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    mapping = tmp_path / "customers.toml"
    mapping.write_text(
        'kind = "borrowers"\n[columns]\nborrower_ref = "cust_no"\nresident_id = "id_no"\n'
        'name = "name"\nmobile = "phone"\naddress = "addr"\nprovince = "prov"\n',
        encoding="utf-8",
    )
    return data, mapping


def _node_toml(tmp_path: Path, store_url: str) -> Path:
    config = tmp_path / "node.toml"
    config.write_text(
        f'[node]\nmember_id = "bank-a"\ndata_dir = "{tmp_path}"\n'
        f'[store]\nurl = "{store_url}"\n'
        '[tls]\nca_cert = "ca.pem"\ncert = "node.pem"\nkey = "node.key"\n',
        encoding="utf-8",
    )
    return config


def test_import_with_config_prints_summary_and_fills_the_store(
    app: typer.Typer,
    files: tuple[Path, Path],
    tmp_path: Path,
) -> None:
    # Prepare
    data, mapping = files
    url = f"sqlite:///{tmp_path / 'node' / 'store.db'}"
    config = _node_toml(tmp_path, url)

    # Execute
    result = CliRunner().invoke(
        app,
        ["import", "borrowers", str(data), "--mapping", str(mapping), "--config", str(config)],
        env={"CREDGATE_STORE_URL": None},
    )

    # Assert
    assert result.exit_code == 0, result.output
    assert "read" in result.output and "quarantined" in result.output
    assert re.search(r"│\s*4\s*│\s*3\s*│\s*1\s*│\s*0\s*│", result.output), result.output
    store = open_store(url)
    try:
        assert CreditRecords(store).count(ImportKind.BORROWERS) == 3
    finally:
        store.close()


def test_store_url_option_overrides_the_config(
    app: typer.Typer, files: tuple[Path, Path], tmp_path: Path
) -> None:
    # Prepare
    data, mapping = files
    config = _node_toml(tmp_path, f"sqlite:///{tmp_path / 'ignored.db'}")
    url = f"sqlite:///{tmp_path / 'chosen.db'}"

    # Execute
    result = CliRunner().invoke(
        app,
        [
            "import",
            "borrowers",
            str(data),
            "--mapping",
            str(mapping),
            "--config",
            str(config),
            "--store-url",
            url,
        ],
    )

    # Assert
    assert result.exit_code == 0, result.output
    assert (tmp_path / "chosen.db").exists()
    assert not (tmp_path / "ignored.db").exists()


def test_bad_mapping_exits_20_with_one_line_naming_the_column(
    app: typer.Typer,
    files: tuple[Path, Path],
    tmp_path: Path,
) -> None:
    # Prepare
    data, mapping = files
    mapping.write_text(
        mapping.read_text(encoding="utf-8").replace('"phone"', '"mobile_no"'), encoding="utf-8"
    )
    url = f"sqlite:///{tmp_path / 'store.db'}"

    # Execute
    result = CliRunner().invoke(
        app, ["import", "borrowers", str(data), "--mapping", str(mapping), "--store-url", url]
    )

    # Assert
    assert result.exit_code == EXIT_IMPORT_FILE_INVALID == 20
    message = result.output.strip()
    assert len(message.splitlines()) == 1
    assert "'mobile_no'" in message and str(mapping) in message
    store = open_store(url)
    try:
        assert CreditRecords(store).count(ImportKind.BORROWERS) == 0
    finally:
        store.close()


def test_missing_store_settings_is_a_usage_error(app: typer.Typer, files: tuple[Path, Path]) -> None:
    # Prepare
    data, mapping = files

    # Execute
    result = CliRunner().invoke(
        app, ["import", "borrowers", str(data), "--mapping", str(mapping)], env={"CREDGATE_STORE_URL": None}
    )

    # Assert
    assert result.exit_code == 2
    assert "--store-url" in result.output


@pytest.mark.parametrize(("total", "shown"), [(PROGRESS_MIN_ROWS, True), (PROGRESS_MIN_ROWS - 1, False)])
def test_progress_bar_appears_only_for_large_files(total: int, shown: bool) -> None:
    # Prepare
    bar = _ProgressBar()

    # Execute
    with bar:
        bar.update(ImportProgress(rows_done=10, rows_total=total, imported=10, quarantined=0, duplicates=0))
        tasks = list(bar._progress.tasks)

    # Assert
    assert bool(tasks) is shown
    if shown:
        assert (tasks[0].completed, tasks[0].total) == (10, total)


def test_an_import_that_refuses_every_row_exits_22_and_quarantine_lists_and_exports_them(
    app: typer.Typer, files: tuple[Path, Path], tmp_path: Path
) -> None:
    data, mapping = files
    data.write_text("cust_no,id_no,name,phone,addr,prov\nC1,123,x,1,上海市,上海\nC2,456,y,2,上海市,上海\n")
    url = f"sqlite:///{tmp_path / 'store.db'}"
    runner = CliRunner()

    imported = runner.invoke(
        app, ["import", "borrowers", str(data), "--mapping", str(mapping), "--store-url", url]
    )
    export = str(tmp_path / "r.csv")
    listed = runner.invoke(app, ["import", "quarantine", "--store-url", url, "--out", export])

    assert imported.exit_code == EXIT_IMPORT_ALL_REJECTED == 22, imported.output
    assert "refused every row (2 quarantined)" in imported.output
    assert listed.exit_code == 0, listed.output
    assert "2 quarantined rows" in listed.output and "resident_id" in listed.output
    exported = (tmp_path / "r.csv").read_text(encoding="utf-8").splitlines()
    assert exported[0].startswith("kind,source_file,row,field,reason,")
    assert len(exported) == 3 and "C2" in exported[2]

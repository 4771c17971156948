from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from gateway.cli.synth import register
from gateway.clock import local_date, system_clock
from gateway.errors import InvalidInputError


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    register(app)

    @app.callback()
    def main() -> None:
        """Test application."""

    return app


def test_synth_writes_member_folders_and_prints_a_summary(app: typer.Typer, tmp_path: Path) -> None:
    before = local_date(system_clock())
    result = CliRunner().invoke(
        app, ["synth", "--members", "4", "--people", "200", "--seed", "5", "--out", str(tmp_path)]
    )
    after = local_date(system_clock())

    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    assert [m["id"] for m in manifest["members"]] == ["bank-1", "bank-2", "cfc-1", "agency-1"]
    assert manifest["seed"] == 5 and manifest["people"] == 200
    assert manifest["as_of"] in {before.isoformat(), after.isoformat()}  # today in Beijing by default
    for member in ("bank-1", "cfc-1", "agency-1"):
        assert member in result.output
    assert "multi-lender share" in result.output


def test_synth_accepts_an_explicit_composition_and_reference_date(app: typer.Typer, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "synth",
            "--composition",
            "bank=1,micro_lender=1,agency=1",
            "--people",
            "100",
            "--as-of",
            "2025-06-30",
            "--out",
            str(tmp_path),
        ],
    )

    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    assert [m["role"] for m in manifest["members"]] == ["bank", "micro_lender", "agency"]
    assert manifest["as_of"] == "2025-06-30"


@pytest.mark.parametrize(
    "args",
    [
        ["--members", "2"],
        ["--members", "5", "--composition", "bank=2,agency=1"],
        ["--as-of", "31/10/2026"],
        ["--people", "40000"],
    ],
)
def test_bad_options_raise_invalid_input(app: typer.Typer, tmp_path: Path, args: list[str]) -> None:
    result = CliRunner().invoke(app, ["synth", "--out", str(tmp_path), "--people", "50", *args])

    assert isinstance(result.exception, InvalidInputError)

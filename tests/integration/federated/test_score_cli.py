"""``credgate score``: a signed model scores the member's accounts locally; a tampered one is refused."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from federated.features.spec import load_spec
from federated.models import Normaliser, initial_weights
from federated.registry import ModelRecord, publish
from federated.settings import DEFAULT_SPEC
from gateway.cli.exit_codes import ExitCode
from gateway.cli.score import register
from gateway.clock import system_clock
from gateway.config import Settings
from gateway.identity.peer import Role
from gateway.synth.uci import load_dataset

from .conftest import DATA
from .stores import AS_OF, build_store

ROWS = 120


@pytest.fixture
def member(provision: object, tmp_path: Path) -> tuple[Settings, Path]:
    make = provision  # tests/conftest.py: issue a certificate and write a node config
    member_settings: Settings = make("bank-a", Role.BANK)  # type: ignore[operator]
    bureau: Settings = make("bureau", Role.BUREAU)  # type: ignore[operator]
    store_path = Path(member_settings.store_url.removeprefix("sqlite:///"))
    store_path.parent.mkdir(parents=True, exist_ok=True)
    build_store(store_path, list(load_dataset(DATA).rows[:ROWS]), seed=9)
    spec = load_spec(DEFAULT_SPEC)
    record = ModelRecord(
        name="delinquency",
        version=1,
        created_at=system_clock().isoformat(),
        kind="lr",
        hidden=32,
        weights=initial_weights("lr", spec.width, hidden=32, seed=1),
        normaliser=Normaliser.identity(spec.width),
        spec_name=spec.name,
        spec_sha256=spec.digest,
        input_names=spec.input_names(),
    )
    model = publish(
        tmp_path / "registry",
        record,
        key_pem=bureau.tls.key.read_bytes(),
        certificate_pem=bureau.tls.cert.read_bytes(),
    )
    return member_settings, model


def config_path(settings: Settings) -> Path:
    # tests/conftest.py provisions each node under <tmp>/nodes/<member id>/node.toml.
    return next(p for p in settings.data_dir.parents if p.name == settings.member_id) / "node.toml"


def test_signed_model_scores_every_account_into_tiers(member: tuple[Settings, Path], tmp_path: Path) -> None:
    settings, model = member
    app = typer.Typer()
    register(app)
    app.callback()(lambda: None)
    out = tmp_path / "scores.csv"
    args = ["score", "--config", str(config_path(settings)), "--model", str(model), "--out", str(out)]
    result = CliRunner().invoke(app, [*args, "--as-of", AS_OF.isoformat()])
    assert result.exit_code == 0, result.output
    assert "legal track" in result.output
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert len(rows) == ROWS
    assert {row["tier"] for row in rows} <= {"low", "medium", "high"}
    assert all(0.0 <= float(row["probability"]) <= 1.0 for row in rows)
    assert np.isclose(sum(float(r["probability"]) for r in rows) / ROWS, 0.5, atol=0.5)


def test_tampered_model_is_refused_with_exit_code_14(member: tuple[Settings, Path], tmp_path: Path) -> None:
    settings, model = member
    model.write_bytes(model.read_bytes().replace(b'"version": 1', b'"version": 2'))
    out = tmp_path / "scores.csv"
    env = {**os.environ, "FLWR_TELEMETRY_ENABLED": "0", "FLWR_DISABLE_UPDATE_CHECK": "1"}
    command = [sys.executable, "-m", "gateway", "score", "--config", str(config_path(settings))]
    result = subprocess.run(
        [*command, "--model", str(model), "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert result.returncode == ExitCode.CRYPTO_REFUSED == 14
    assert "failed verification" in result.stderr
    assert not out.exists()

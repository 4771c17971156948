"""A member refuses a spec its data does not satisfy; the operator sees why; the index builds once."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from federated.errors import FederatedRunError
from gateway.synth.uci import load_dataset

from .conftest import DATA
from .stores import build_store

ROOT = Path(__file__).resolve().parents[3]
BOOK = ROOT / "data" / "credit_risk" / "credit_risk_dataset.csv"
GOOD_SPEC = (ROOT / "policies" / "features" / "credit-risk.toml").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def small_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("book") / "loans.csv"
    path.write_text(
        "".join(BOOK.read_text(encoding="utf-8").splitlines(keepends=True)[:601]), encoding="utf-8"
    )
    return path


BAD_SPECS = {
    "missing column": (GOOD_SPEC.replace('column = "loan_grade"', 'column = "loan_grade_2"'), "loan_grade_2"),
    "unknown category": (GOOD_SPEC.replace('"OTHER"]', "]"), "person_home_ownership"),
    "bad missing rule": (GOOD_SPEC.replace('missing = "mean"', 'missing = "guess"'), "loan_int_rate"),
}


@pytest.mark.parametrize("case", sorted(BAD_SPECS))
def test_features_check_refuses_a_bad_spec_naming_the_column(
    case: str, small_book: Path, tmp_path: Path
) -> None:
    from gateway.cli.app import app

    text, column = BAD_SPECS[case]
    spec = tmp_path / "spec.toml"
    spec.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(app, ["features", "check", "--spec", str(spec), "--csv", str(small_book)])
    assert result.exit_code != 0
    assert column in f"{result.output}{result.exception}"


def test_features_check_profiles_a_good_book(small_book: Path, tmp_path: Path) -> None:
    from gateway.cli.app import app

    spec = tmp_path / "spec.toml"
    spec.write_text(GOOD_SPEC, encoding="utf-8")
    result = CliRunner().invoke(app, ["features", "check", "--spec", str(spec), "--csv", str(small_book)])
    assert result.exit_code == 0, result.output
    assert "600 rows" in result.output
    assert "RENT" in result.output


@pytest.mark.parametrize("case", ["missing column", "unknown category"])
def test_the_member_refuses_and_the_run_names_member_phase_and_reason(
    case: str, small_book: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from federated.apps.client import app as client
    from federated.apps.server import app as server
    from federated.inprocess import run_inprocess

    text, column = BAD_SPECS[case]
    spec = tmp_path / "spec.toml"
    spec.write_text(text, encoding="utf-8")
    nodes: dict[int, dict[str, Any]] = {
        300 + i: {
            "features-csv": str(small_book),
            "partition-id": i,
            "num-partitions": 3,
            "member-id": f"bank-{i}",
        }
        for i in range(3)
    }
    with caplog.at_level(logging.ERROR), pytest.raises(FederatedRunError) as raised:
        run_inprocess(
            server, client, node_configs=nodes,
            run_config={"model": "gbt", "rounds": 1, "feature-spec": str(spec), "output-dir": str(tmp_path)},
        )  # fmt: skip
    message = str(raised.value)
    assert "failed phase profile: feature_spec_invalid" in message
    assert "member bank-" in message
    assert column not in message  # the bureau learns the reason class, never the member's detail
    assert column in caplog.text  # the member's own log has the full reason
    results = (tmp_path / "results.json").read_text(encoding="utf-8")
    assert '"reason": "feature_spec_invalid"' in results


def test_each_members_egress_index_is_built_once_per_run(tmp_path: Path) -> None:
    from federated import egress_mod
    from federated.apps.client import app as client
    from federated.apps.server import app as server
    from federated.inprocess import run_inprocess

    rows = list(load_dataset(DATA).rows[:1000])
    nodes: dict[int, dict[str, Any]] = {}
    for i in range(5):
        url, _ = build_store(tmp_path / f"m{i}.db", rows[i * 200 : (i + 1) * 200], seed=i)
        nodes[400 + i] = {"store-url": url, "member-id": f"bank-{i}"}
    run_inprocess(
        server, client, node_configs=nodes,
        run_config={"model": "gbt", "rounds": 2, "tree-depth": 2, "output-dir": str(tmp_path)},
    )  # fmt: skip
    # Five members, eight phases of four SecAgg+ stages each: one build per member all the same.
    assert {url: egress_mod.INDEX_BUILDS[url] for url in (n["store-url"] for n in nodes.values())} == {
        n["store-url"]: 1 for n in nodes.values()
    }

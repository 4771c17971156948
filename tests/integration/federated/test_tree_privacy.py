"""Optional DP on the tree histograms: each member's share of Gaussian noise, and a DP run end to end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from federated.features.sources import csv_rows, load_table
from federated.features.spec import load_spec
from federated.features.splits import RANDOM, split_book
from federated.member import MemberData, _profile, compute
from federated.policy import shipped_policy
from federated.protocol import HIST_SCALE, Phase
from federated.server.profile import Profile
from federated.settings import RunSettings
from federated.tree_privacy import tree_sigma
from federated.trees import Ensemble, empty_tree
from gateway.clock import local_date, system_clock
from gateway.synth.books import BOOKS, book_spec
from tests.stat_bounds import chi_square_interval

BOOK = "credit-risk"
#: The member's own [secagg] min_members: its noise share is σ²/HONEST whatever the run config says.
HONEST = shipped_policy().secagg.min_members
SPEC = book_spec(BOOK)


@pytest.fixture(scope="module")
def member() -> MemberData:
    spec = load_spec(SPEC)
    csv = BOOKS[BOOK].csv_file
    assert csv is not None
    rows = csv_rows(csv, spec)
    part = split_book(rows, target=spec.target, by=RANDOM, parts=20).members[0]
    table = load_table(part, spec, as_of=local_date(system_clock()))
    return MemberData(spec, table, table)


def level_arrays(member: MemberData, settings: RunSettings) -> list[np.ndarray]:
    profile = Profile.from_sums(_profile(member), member.spec)
    edges = profile.bin_edges(member.spec, settings.tree_bins)
    params = settings.tree_params
    ensemble = Ensemble(profile.base_margin, np.zeros((0, 3, params.nodes)))
    return [
        profile.imputation,
        np.concatenate(edges),
        np.asarray([e.size for e in edges], dtype=np.float64),
        ensemble.to_vector(),
        empty_tree(params).reshape(-1),
        np.array([0.0, 0.0]),
    ]


def settings_with(epsilon: float) -> RunSettings:
    config: dict[str, Any] = {"model": "gbt", "rounds": 10, "tree-depth": 3, "feature-spec": str(SPEC)}
    return RunSettings.from_run_config({**config, "dp-epsilon": epsilon})


def test_each_member_adds_its_share_of_gaussian_noise_to_every_histogram_cell(member: MemberData) -> None:
    private, exact = settings_with(1.0), settings_with(0.0)
    arrays = level_arrays(member, private)

    first = (
        compute(Phase.TREE_LEVEL, member, private, arrays, round_number=1, honest_members=HONEST) * HIST_SCALE
    )
    second = (
        compute(Phase.TREE_LEVEL, member, private, arrays, round_number=1, honest_members=HONEST) * HIST_SCALE
    )
    clear = (
        compute(Phase.TREE_LEVEL, member, exact, arrays, round_number=1, honest_members=HONEST) * HIST_SCALE
    )

    # Without DP the histograms are a function of the data alone.
    assert np.array_equal(
        clear,
        compute(Phase.TREE_LEVEL, member, exact, arrays, round_number=1, honest_members=HONEST) * HIST_SCALE,
    )
    # With DP each call draws fresh noise N(0, σ²/HONEST) per cell: the difference of two
    # calls is N(0, 2σ²/HONEST) per cell, so Σd² / (2σ²/HONEST) ~ χ²(cells).
    # chi_square_interval leaves a false failure probability of at most 1e-6 (both tails).
    # Mutation: noise_share returning zeros makes the statistic 0, below the interval.
    share = tree_sigma(private, member.spec) ** 2 / HONEST
    difference = first - second
    statistic = float(np.sum(difference**2) / (2.0 * share))
    low, high = chi_square_interval(difference.size)
    assert low <= statistic <= high
    # And the noise is centred on the exact histograms: (first - clear) ~ N(0, share) per cell.
    centred = float(np.sum((first - clear) ** 2) / share)
    assert low <= centred <= high


def test_a_private_tree_run_completes_and_reports_the_epsilon_it_spent(tmp_path: Path) -> None:
    from federated.apps.client import app as client
    from federated.apps.server import app as server
    from federated.inprocess import run_inprocess

    spec = load_spec(SPEC)
    csv = BOOKS[BOOK].csv_file
    nodes = {
        300 + i: {"features-csv": str(csv), "partition-by": RANDOM, "partition-id": i, "num-partitions": 40,
                  "member-id": f"lender-{i}"}
        for i in range(3)
    }  # fmt: skip
    run_inprocess(
        server, client, node_configs=nodes,
        run_config={"model": "gbt", "rounds": 2, "tree-depth": 2, "feature-spec": str(SPEC),
                    "dp-epsilon": 8.0, "output-dir": str(tmp_path), "min-members": 3},
    )  # fmt: skip
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["status"] == "finished"
    assert results["epsilon"] == pytest.approx(8.0) and results["epsilon_target"] == pytest.approx(8.0)
    assert [r["epsilon"] for r in results["rounds"]] == [0.0, pytest.approx(4.0), pytest.approx(8.0)]
    model = json.loads(Path(results["model"]).read_text())
    assert model["kind"] == "gbt" and len(model["weights"]) == 1 + 2 * 3 * (2**3 - 1)
    assert model["spec_name"] == spec.name

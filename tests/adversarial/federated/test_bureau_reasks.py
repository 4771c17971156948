"""The bureau re-asking a member's computation in training, to average its DP noise away.

Each answer draws fresh noise (two answers to the same request differ), so a bureau asking
the same tree level, profile or evaluation again and again could average the noise out of
the mean. A member answers each computation of a run once (federated/releases.py) and
refuses one outside the run's plan; without that ledger every re-ask below is answered.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from flwr.app import Context, RecordDict
from integration.federated.test_tree_privacy import BOOK, SPEC, level_arrays

from federated.apps.client import MemberClient
from federated.features.splits import RANDOM
from federated.member import MemberData, compute, load_member_data
from federated.protocol import Phase, pack
from federated.releases import ReleaseRefused
from federated.settings import RunSettings
from gateway.synth.books import BOOKS

RUN: dict[str, Any] = {"model": "gbt", "rounds": 3, "tree-depth": 2, "feature-spec": str(SPEC)}
NODE: dict[str, Any] = {
    "features-csv": str(BOOKS[BOOK].csv_file),
    "partition-by": RANDOM,
    "partition-id": 0,
    "num-partitions": 20,
}


@pytest.fixture(scope="module")
def book_member() -> MemberData:
    """One member's part of the credit-risk book, as the member loads it for a run."""
    return load_member_data(NODE, RunSettings.from_run_config(RUN))


@pytest.fixture
def client() -> MemberClient:
    return MemberClient(Context(1, 101, dict(NODE), RecordDict(), dict(RUN)))


def ask(client: MemberClient, phase: Phase, arrays: list[np.ndarray], round_number: int) -> np.ndarray:
    vectors, _, _ = client.fit([pack(arrays)], {"phase": phase.value, "round": round_number})
    return vectors[0]


def tree_level(data: MemberData, *, level: int, evaluate: bool) -> list[np.ndarray]:
    arrays = level_arrays(data, RunSettings.from_run_config(RUN))
    arrays[5] = np.array([float(level), float(evaluate)])
    return arrays


def test_fresh_noise_makes_a_reask_worth_it_for_the_bureau(book_member: MemberData) -> None:
    # What the ledger stops: the same request, computed twice, carries two independent noises.
    settings = RunSettings.from_run_config(RUN)
    arrays = tree_level(book_member, level=0, evaluate=False)
    first = compute(Phase.TREE_LEVEL, book_member, settings, arrays, round_number=1, honest_members=3)
    second = compute(Phase.TREE_LEVEL, book_member, settings, arrays, round_number=1, honest_members=3)
    assert not np.array_equal(first, second)


def test_a_member_answers_each_tree_level_once(client: MemberClient, book_member: MemberData) -> None:
    arrays = tree_level(book_member, level=0, evaluate=False)
    ask(client, Phase.TREE_LEVEL, arrays, 1)
    with pytest.raises(ReleaseRefused, match="tree-level:1:0: already answered"):
        ask(client, Phase.TREE_LEVEL, arrays, 1)
    ask(
        client, Phase.TREE_LEVEL, tree_level(book_member, level=1, evaluate=False), 1
    )  # the next level is new


def test_a_member_answers_the_profile_once(client: MemberClient, book_member: MemberData) -> None:
    ask(client, Phase.PROFILE, [], 0)
    with pytest.raises(ReleaseRefused, match="profile:0:0"):
        ask(client, Phase.PROFILE, [], 0)


def test_a_member_scores_each_model_once(client: MemberClient, book_member: MemberData) -> None:
    # An evaluation rides on a tree level; asking it again on the next level scores the same model.
    ask(client, Phase.TREE_LEVEL, tree_level(book_member, level=0, evaluate=True), 1)
    with pytest.raises(ReleaseRefused, match="evaluate:0"):
        ask(client, Phase.TREE_LEVEL, tree_level(book_member, level=1, evaluate=True), 1)


@pytest.mark.parametrize(
    ("phase", "level", "round_number", "field"),
    [(Phase.TREE_LEVEL, 0, 4, "round"), (Phase.TREE_LEVEL, 2, 1, "level"), (Phase.PROFILE, 0, 1, "round")],
)
def test_a_member_refuses_a_request_outside_the_runs_plan(
    client: MemberClient, book_member: MemberData, phase: Phase, level: int, round_number: int, field: str
) -> None:
    arrays = tree_level(book_member, level=level, evaluate=False) if phase is Phase.TREE_LEVEL else []
    with pytest.raises(ReleaseRefused, match=f"^{field}:"):
        ask(client, phase, arrays, round_number)

"""policies/federated.toml: what a member accepts, with errors naming the key."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from federated.policy import POLICY_FILE, FederatedPolicy, RunRefused, shipped_policy
from gateway.config import default_policies_dir
from gateway.errors import ConfigError


def write_policy(tmp_path: Path, old: str, new: str) -> Path:
    shutil.copy(default_policies_dir() / POLICY_FILE, tmp_path / POLICY_FILE)
    path = tmp_path / POLICY_FILE
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("min_threshold_share = 0.5", "min_threshold_share = 0.4", "secagg.min_threshold_share"),
        ("min_members = 3", "min_members = 1", "secagg.min_members"),
        ("default_epsilon = 8.0", "default_epsilon = 0", "privacy.default_epsilon"),
        ("max_epsilon = 8.0", 'max_epsilon = "eight"', "privacy.max_epsilon"),
    ],
)
def test_a_bad_value_is_refused_naming_its_key(tmp_path: Path, old: str, new: str, key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        FederatedPolicy.from_directory(write_policy(tmp_path, old, new))


def test_the_threshold_must_exceed_half_of_the_shares() -> None:
    policy = shipped_policy().secagg
    policy.check_setup(sample=5, shares=5, threshold=3)
    with pytest.raises(RunRefused, match="threshold"):
        policy.check_setup(sample=5, shares=5, threshold=2)
    with pytest.raises(RunRefused, match="share_num"):
        policy.check_setup(sample=5, shares=6, threshold=4)
    with pytest.raises(RunRefused, match="sample_num"):
        policy.check_setup(sample=policy.min_members - 1, shares=2, threshold=2)


def test_unmask_lists_must_be_disjoint_and_leave_enough_members_alive() -> None:
    policy = shipped_policy().secagg
    policy.check_unmask(active=[1, 2, 3], dead=[4])
    with pytest.raises(RunRefused, match=r"\[2\]"):
        policy.check_unmask(active=[1, 2, 3], dead=[2])
    with pytest.raises(RunRefused, match="more than once"):
        policy.check_unmask(active=[1, 1, 3], dead=[])
    with pytest.raises(RunRefused, match="alive"):
        policy.check_unmask(active=[1, 2], dead=[3])


def test_a_run_without_dp_is_refused_unless_the_policy_or_the_node_allows_it(tmp_path: Path) -> None:
    shipped = shipped_policy().privacy
    with pytest.raises(RunRefused, match="dp-epsilon"):
        shipped.check_run(0.0, {})
    shipped.check_run(0.0, {"allow-no-dp": True})
    shipped.check_run(shipped.max_epsilon, {})
    with pytest.raises(RunRefused, match="exceeds"):
        shipped.check_run(shipped.max_epsilon * 2, {"allow-no-dp": True})
    allowing = FederatedPolicy.from_directory(
        write_policy(tmp_path, "allow_no_dp = false", "allow_no_dp = true")
    )
    allowing.privacy.check_run(0.0, {})

"""What a member accepts in a federated run (``policies/federated.toml``), and the checks it makes.

The bureau chooses the run config and the SecAgg+ parameters; a member holds its own copy
of this policy (node config ``policies-dir``, the shipped ``policies/`` by default) and
refuses a run or an instance that asks for less: fewer members, a lower reconstruction
threshold, no differential privacy or more ε than allowed.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from federated.errors import FederatedError
from gateway._internal.policy_file import load_policy_file
from gateway.config import default_policies_dir

__all__ = [
    "POLICY_FILE",
    "FederatedPolicy",
    "PrivacyPolicy",
    "RunRefused",
    "SecAggPolicy",
    "member_policy",
    "shipped_policy",
]

POLICY_FILE = "federated.toml"


class RunRefused(FederatedError):
    """The bureau asked for less protection than this member's policy requires."""

    reason = "secagg_policy_refused"


class SecAggPolicy(BaseModel):
    """``[secagg]``: the smallest aggregation and reconstruction threshold a member accepts."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    min_members: int = Field(ge=2, le=64)
    min_threshold_share: float = Field(ge=0.5, lt=1.0)

    def check_setup(self, *, sample: int, shares: int, threshold: int) -> None:
        """Refuse a SecAgg+ setup with too few members or too low a threshold.

        Raises
        ------
        RunRefused
            Naming the parameter that falls short.

        """
        if sample < self.min_members:
            raise RunRefused(f"sample_num: {sample} members, this member requires {self.min_members} or more")
        if not 0 < shares <= sample:
            raise RunRefused(f"share_num: {shares} shares for {sample} members")
        if threshold <= self.min_threshold_share * shares:
            raise RunRefused(
                f"threshold: {threshold} of {shares} shares, this member requires more than"
                f" {self.min_threshold_share:g} of them"
            )

    def check_unmask(self, *, active: list[int], dead: list[int]) -> None:
        """Refuse to reveal shares for a node named both alive and dropped, or with too few alive.

        Raises
        ------
        RunRefused
            On either.

        """
        named_twice = set(active) & set(dead)
        if named_twice or len(set(active)) != len(active) or len(set(dead)) != len(dead):
            raise RunRefused(f"active_nids/dead_nids: nodes {sorted(named_twice)} named more than once")
        if len(active) < self.min_members:
            raise RunRefused(
                f"active_nids: {len(active)} members alive, this member requires {self.min_members} or more"
            )


class PrivacyPolicy(BaseModel):
    """``[privacy]``: the ε a run spends when it states none, and the most a member accepts."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    default_epsilon: float = Field(gt=0)
    delta: float = Field(gt=0, lt=1e-3)
    max_epsilon: float = Field(gt=0)
    allow_no_dp: bool

    def check_run(self, epsilon: float, node_config: Mapping[str, object]) -> None:
        """Refuse a run without DP (unless the policy or the node allows it) or above ``max_epsilon``.

        Raises
        ------
        RunRefused
            Naming ``dp-epsilon``.

        """
        if epsilon <= 0:
            if self.allow_no_dp or node_config.get("allow-no-dp") is True:
                return
            raise RunRefused("dp-epsilon: the run asks for no differential privacy; this member requires it")
        if epsilon > self.max_epsilon:
            raise RunRefused(f"dp-epsilon: {epsilon:g} exceeds this member's limit of {self.max_epsilon:g}")


class FederatedPolicy(BaseModel):
    """Validated ``federated.toml``; immutable once loaded."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    secagg: SecAggPolicy
    privacy: PrivacyPolicy

    @classmethod
    def from_directory(cls, policies_dir: Path) -> FederatedPolicy:
        """Load ``policies_dir/federated.toml``.

        Raises
        ------
        ConfigError
            When the file is missing or a value is out of range.

        """
        return load_policy_file(cls, policies_dir / POLICY_FILE)


@functools.cache
def _load(policies_dir: Path) -> FederatedPolicy:
    return FederatedPolicy.from_directory(policies_dir)


def shipped_policy() -> FederatedPolicy:
    """The policy in the shipped ``policies/`` folder (run-config defaults come from it)."""
    return _load(default_policies_dir())


def member_policy(node_config: Mapping[str, object]) -> FederatedPolicy:
    """The member's own policy: node config ``policies-dir``, else the shipped one."""
    folder = node_config.get("policies-dir")
    return _load(Path(str(folder))) if folder not in (None, "") else shipped_policy()

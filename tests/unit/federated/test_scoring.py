from __future__ import annotations

from pathlib import Path

import pytest

from federated.scoring import Tier, TierPolicy, load_tier_policy
from gateway.errors import ConfigError


def test_shipped_policy_orders_the_tiers() -> None:
    policy = load_tier_policy()
    assert policy.actions == {
        Tier.LOW: "soft contact",
        Tier.MEDIUM: "structured plan",
        Tier.HIGH: "legal track",
    }
    assert policy.tier(0.0) is Tier.LOW
    assert policy.tier(policy.medium_from - 1e-9) is Tier.LOW
    assert policy.tier(policy.medium_from) is Tier.MEDIUM
    assert policy.tier(policy.high_from - 1e-9) is Tier.MEDIUM
    assert policy.tier(policy.high_from) is Tier.HIGH
    assert policy.tier(1.0) is Tier.HIGH


@pytest.mark.parametrize(("medium", "high"), [(0.5, 0.3), (0.0, 0.5), (0.3, 1.0), (0.4, 0.4)])
def test_bounds_out_of_order_are_refused(medium: float, high: float) -> None:
    with pytest.raises(ConfigError, match="medium_from < high_from"):
        TierPolicy(medium, high, {})


def test_policy_without_bounds_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "model.toml"
    path.write_text("[tiers]\nmedium_from = 0.2\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="high_from"):
        load_tier_policy(path)

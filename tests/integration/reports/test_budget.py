"""Budget exhaustion: an answer that would exceed a member's budget is refused, and nothing is charged."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from gateway.errors import RateLimited
from gateway.reports.budget import BUDGET_FILE

from ..subject_check.conftest import Consortium
from .conftest import PERIOD, Regulator, charges

pytestmark = pytest.mark.slow


@pytest.fixture
def policies_dir(policies_copy: Callable[..., Path]) -> Path:
    """The shipped policies with room for monthly-risk (0.014) but not monthly-delinquency after it."""
    return policies_copy(
        {BUDGET_FILE: [("rho_per_regulator_period = 0.05", "rho_per_regulator_period = 0.016")]}
    )


def test_exhausted_budget_refuses_with_resource_exhausted_and_charges_nothing(
    consortium: Consortium, regulator: Regulator
) -> None:
    regulator.request("monthly-risk")

    with pytest.raises(RateLimited, match="privacy budget exhausted"):
        regulator.request("monthly-delinquency")

    for member_id in consortium.settings:
        live = [c.template_id for c in charges(consortium, member_id, "cbirc", PERIOD) if not c.refunded]
        assert live == ["monthly-risk"], member_id
    assert regulator.request("monthly-risk").from_cache  # what was released stays available

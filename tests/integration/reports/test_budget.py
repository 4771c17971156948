"""Budget exhaustion: a release that would exceed a member's budget is refused, and nothing is charged."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from gateway.config import default_policies_dir
from gateway.errors import RateLimited
from gateway.reports.budget import BUDGET_FILE, BudgetPolicy, PrivacyLedger

from ..subject_check.conftest import Consortium
from .conftest import Regulator

pytestmark = pytest.mark.slow


@pytest.fixture
def policies_dir(tmp_path: Path) -> Path:
    """The shipped policies with room for monthly-risk (0.014) but not monthly-delinquency after it."""
    folder = tmp_path / "policies"
    shutil.copytree(default_policies_dir(), folder)
    budget = folder / BUDGET_FILE
    budget.write_text(
        budget.read_text().replace("rho_per_regulator_period = 0.05", "rho_per_regulator_period = 0.016")
    )
    return folder


def test_exhausted_budget_refuses_with_resource_exhausted_and_charges_nothing(
    consortium: Consortium, regulator: Regulator
) -> None:
    regulator.request("monthly-risk")

    with pytest.raises(RateLimited, match="privacy budget exhausted"):
        regulator.request("monthly-delinquency")

    for member_id, settings in consortium.settings.items():
        policy = BudgetPolicy.from_file(settings.policies_dir / BUDGET_FILE)
        ledger = PrivacyLedger.in_data_dir(settings.data_dir, policy, clock=lambda: dt.datetime.now(dt.UTC))
        assert [e.template_id for e in ledger.entries("cbirc", "2026-10")] == ["monthly-risk"], member_id
    assert regulator.request("monthly-risk").from_cache  # what was released stays available

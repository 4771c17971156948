from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import default_policies_dir
from gateway.reports.budget import BUDGET_FILE, BudgetPolicy
from gateway.reports.templates import ReportTemplate, load_template


@pytest.fixture
def policies() -> Path:
    return default_policies_dir()


@pytest.fixture
def template(policies: Path) -> ReportTemplate:
    return load_template(policies, "monthly-risk")


@pytest.fixture
def budget_policy(policies: Path) -> BudgetPolicy:
    return BudgetPolicy.from_file(policies / BUDGET_FILE)

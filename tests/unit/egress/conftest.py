"""Shared redactors: built once per session (building one takes about a second)."""

from __future__ import annotations

import pytest

from gateway.egress.redactor import Redactor


@pytest.fixture(scope="session")
def redactor() -> Redactor:
    return Redactor()


@pytest.fixture(scope="session")
def structured() -> Redactor:
    return Redactor.structured_only()

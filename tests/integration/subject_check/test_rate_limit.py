"""Rate limits per querier bound bulk probing: over the limit is RESOURCE_EXHAUSTED and answers nothing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from gateway.errors import RateLimited
from gateway.node.session import member_session
from gateway.queries.subject_check.querier import SubjectRequest
from gateway.store.enums import ReasonCode
from gateway.store.models import CachedCheckRow, Inquiry

from .conftest import Consortium, valid_consents


@pytest.fixture
def policies_dir(policies_copy: Callable[..., Path]) -> Path:
    return policies_copy(
        {"subject_check.toml": [("subjects_per_minute = 300000", "subjects_per_minute = 3")]}
    )


def test_a_querier_over_its_rate_is_refused_and_nothing_is_recorded(consortium: Consortium) -> None:
    subjects = [
        SubjectRequest(r, c) for r, c in valid_consents(consortium, "bank-1", ReasonCode.LOAN_APPROVAL)[:4]
    ]

    with member_session(consortium.settings["bank-1"]) as session:
        with pytest.raises(RateLimited, match="subjects per minute"):
            session.subject_checks().check_many(subjects, ReasonCode.LOAN_APPROVAL)
        with session.store.transaction() as db:
            recorded = db.scalar(sa.select(sa.func.count()).select_from(Inquiry))

    with consortium.bureau.store.transaction() as db:
        cached = db.scalar(sa.select(sa.func.count()).select_from(CachedCheckRow))
    assert (recorded, cached) == (0, 0)

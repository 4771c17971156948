"""Portfolio screening: many chunks, every row right, repeated subjects answered from the cache."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest

from gateway.node.session import member_session
from gateway.queries.subject_check.answer import CheckStatus
from gateway.queries.subject_check.querier import SubjectRequest
from gateway.store.enums import ReasonCode, TokenType

from .conftest import Consortium, expected_answer, valid_consents

CHUNK = 7


@pytest.fixture
def policies_dir(policies_copy: Callable[..., Path]) -> Path:
    return policies_copy(
        {"subject_check.toml": [("max_subjects_per_chunk = 1000", f"max_subjects_per_chunk = {CHUNK}")]}
    )


def test_every_row_of_a_chunked_screen_equals_the_raw_data(consortium: Consortium) -> None:
    subjects = [
        SubjectRequest(r, c) for r, c in valid_consents(consortium, "cfc-1", ReasonCode.LOAN_APPROVAL)
    ]
    subjects.append(SubjectRequest("110105194912310021", "AUTH-NONE"))  # bad checksum
    subjects.append(SubjectRequest(subjects[0].national_id, "AUTH-NOT-HELD"))  # no such consent

    with member_session(consortium.settings["cfc-1"]) as session:
        outcomes = session.subject_checks().check_many(subjects, ReasonCode.LOAN_APPROVAL)
        sample = [0, CHUNK, len(subjects) - 3, *random.Random(1).sample(range(len(subjects) - 2), 4)]
        epoch, tokens = session.tokeniser.tokenise(
            TokenType.RESIDENT_ID, [subjects[i].national_id for i in sample]
        )

    statuses = [o.answer.status for o in outcomes]
    assert len(outcomes) == len(subjects) > 3 * CHUNK
    assert statuses[-2:] == [CheckStatus.INSUFFICIENT_INPUT, CheckStatus.REFUSED]
    assert set(statuses[:-2]) <= {CheckStatus.HIT, CheckStatus.NO_MATCH} and CheckStatus.HIT in statuses
    for index, token in zip(sample, tokens, strict=True):
        answer = outcomes[index].answer
        assert answer == expected_answer(consortium, "cfc-1", token, epoch, answer.coverage), f"row {index}"


def test_a_rescreen_the_same_day_reuses_earlier_rows_wherever_they_now_stand(consortium: Consortium) -> None:
    subjects = [
        SubjectRequest(r, c) for r, c in valid_consents(consortium, "bank-3", ReasonCode.LOAN_APPROVAL)
    ]
    first_half = subjects[: len(subjects) // 2]
    with member_session(consortium.settings["bank-3"]) as session:
        client = session.subject_checks()
        first = dict(zip(first_half, client.check_many(first_half, ReasonCode.LOAN_APPROVAL), strict=True))
        mixed = random.Random(2).sample(subjects, len(subjects))
        second = dict(zip(mixed, client.check_many(mixed, ReasonCode.LOAN_APPROVAL), strict=True))

    for subject, outcome in first.items():
        assert second[subject].answer == outcome.answer

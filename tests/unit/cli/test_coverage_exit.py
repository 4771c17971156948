"""Insufficient coverage has its own exit code and is worded against the consortium (issue #17 item 11)."""

from __future__ import annotations

import pytest

from gateway.cli.exit_codes import ExitCode, exit_code_for
from gateway.cli.queries import _fail_on_insufficient_coverage, coverage_sentence
from gateway.errors import InsufficientCoverage
from gateway.queries.subject_check.answer import CheckStatus, no_answer
from gateway.queries.subject_check.messages import Coverage
from gateway.queries.subject_check.querier import CheckOutcome

SHORT = Coverage(members_asked=2, members_answered=2, attempts=1, participants=3, consortium_members=4)


def test_the_coverage_is_worded_against_the_consortium_and_the_minimum() -> None:
    assert coverage_sentence(SHORT) == (
        "2 of the consortium's 4 other members answered (2 online, 1 attempt(s)); at least 3 must answer"
    )


def test_a_batch_with_any_insufficient_row_exits_with_its_own_code() -> None:
    answered = Coverage(4, 4, 1, 5, 4)
    outcomes = [
        CheckOutcome(no_answer(CheckStatus.NO_MATCH, answered), None),
        CheckOutcome(no_answer(CheckStatus.INSUFFICIENT_COVERAGE, SHORT), None),
    ]

    with pytest.raises(InsufficientCoverage) as raised:
        _fail_on_insufficient_coverage(outcomes)

    assert exit_code_for(raised.value) is ExitCode.INSUFFICIENT_COVERAGE == 31
    assert raised.value.message.startswith("1 of 2 subjects: 2 of the consortium's 4")

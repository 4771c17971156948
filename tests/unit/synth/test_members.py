from __future__ import annotations

import pytest

from gateway.errors import InvalidInputError
from gateway.roles import Role
from gateway.synth import Composition


def test_default_composition_has_one_agency_last_one_cfc_and_banks() -> None:
    members = Composition.default_for(5).members()
    assert [m.member_id for m in members] == ["bank-1", "bank-2", "bank-3", "cfc-1", "agency-1"]
    assert members[-1].role is Role.AGENCY


def test_composition_parses_role_counts() -> None:
    composition = Composition.parse("bank=3, consumer_finance=1,micro_lender=2,agency=1")
    assert [m.member_id for m in composition.members()] == [
        "bank-1",
        "bank-2",
        "bank-3",
        "cfc-1",
        "mlc-1",
        "mlc-2",
        "agency-1",
    ]


@pytest.mark.parametrize(
    "text", ["bank=1,agency=1", "agency=3", "bank=2,broker=1", "bank=x,agency=2", "bank"]
)
def test_bad_compositions_are_rejected(text: str) -> None:
    with pytest.raises(InvalidInputError):
        Composition.parse(text)


def test_fewer_than_three_members_is_rejected() -> None:
    with pytest.raises(InvalidInputError, match="at least 3"):
        Composition.default_for(2)

"""What masks are bound to."""

from __future__ import annotations

from random import Random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.aggregation.context import MaskContext, answering_set_hash
from gateway.errors import InvalidInputError

member_ids = st.lists(
    st.text(alphabet="abcdefgh-0123", min_size=1, max_size=6), min_size=1, max_size=8, unique=True
)


@given(member_ids, st.randoms())
def test_answering_set_hash_ignores_order(ids: list[str], random: Random) -> None:
    shuffled = list(ids)
    random.shuffle(shuffled)
    assert answering_set_hash(shuffled) == answering_set_hash(ids)


@given(member_ids, member_ids)
def test_answering_set_hash_separates_different_sets(a: list[str], b: list[str]) -> None:
    if set(a) != set(b):
        assert answering_set_hash(a) != answering_set_hash(b)


def test_answering_set_hash_is_unambiguous_about_boundaries() -> None:
    assert answering_set_hash(["ab", "c"]) != answering_set_hash(["a", "bc"])


@pytest.mark.parametrize("ids", [[], ["a", "a"], ["a", ""]], ids=["empty", "duplicate", "blank"])
def test_answering_set_hash_refuses_malformed_sets(ids: list[str]) -> None:
    with pytest.raises(InvalidInputError, match="member_ids"):
        answering_set_hash(ids)


def test_mask_context_validates_at_construction() -> None:
    with pytest.raises(InvalidInputError, match="request_hash"):
        MaskContext(bytes(31), 1, bytes(32))
    with pytest.raises(InvalidInputError, match="answering_set_hash"):
        MaskContext(bytes(32), 1, bytes(33))
    with pytest.raises(InvalidInputError, match="attempt"):
        MaskContext(bytes(32), -1, bytes(32))
    context = MaskContext.for_members(bytes(32), 2, ["b", "a"])
    assert context.answering_set_hash == answering_set_hash(["a", "b"])

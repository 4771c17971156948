"""Field arithmetic modulo P = 2**61 - 1 against Python's big integers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.aggregation.field import (
    HALF,
    P,
    add,
    add_into,
    decode,
    encode,
    neg,
    scalar_mul,
    sub,
    sub_into,
)
from gateway.errors import InvalidInputError

signed = st.integers(min_value=-HALF, max_value=HALF)
residue = st.one_of(
    st.integers(min_value=0, max_value=P - 1), st.sampled_from([0, 1, P - 2, P - 1, HALF, HALF + 1])
)


def residues(values: list[int]) -> np.ndarray:
    return np.array(values, dtype=np.uint64)


@given(st.lists(signed, max_size=50))
def test_encode_decode_round_trips_signed_values(values: list[int]) -> None:
    array = np.array(values, dtype=np.int64)

    encoded = encode(array)

    assert encoded.dtype == np.uint64 and all(0 <= int(r) < P for r in encoded)
    assert [int(r) for r in encoded] == [v % P for v in values]
    assert np.array_equal(decode(encoded), array)


def test_encode_accepts_the_extremes_and_keeps_the_shape() -> None:
    array = np.array([[-HALF, -1, 0], [1, HALF, 7]], dtype=np.int64)
    assert np.array_equal(decode(encode(array)), array)
    assert encode(np.array([-1], dtype=np.int32)).tolist() == [P - 1]


@pytest.mark.parametrize(
    "values",
    [
        np.array([HALF + 1], dtype=np.int64),
        np.array([-HALF - 1], dtype=np.int64),
        np.array([1.0]),
        np.array([1], dtype=np.uint64),
    ],
    ids=["too-large", "too-small", "float", "unsigned"],
)
def test_encode_refuses_values_that_would_not_decode_to_themselves(values: np.ndarray) -> None:
    with pytest.raises(InvalidInputError, match="values"):
        encode(values)


@pytest.mark.parametrize(
    "array",
    [np.array([P], dtype=np.uint64), np.array([1], dtype=np.int64)],
    ids=["unreduced", "signed-dtype"],
)
def test_decode_refuses_non_residues(array: np.ndarray) -> None:
    with pytest.raises(InvalidInputError, match="residues"):
        decode(array)


@given(st.lists(st.tuples(residue, residue), min_size=1, max_size=40))
def test_add_sub_neg_match_big_integer_arithmetic(pairs: list[tuple[int, int]]) -> None:
    a, b = residues([x for x, _ in pairs]), residues([y for _, y in pairs])

    assert add(a, b).tolist() == [(x + y) % P for x, y in pairs]
    assert sub(a, b).tolist() == [(x - y) % P for x, y in pairs]
    assert neg(a).tolist() == [(-x) % P for x, _ in pairs]


@given(st.lists(residue, min_size=1, max_size=40), st.integers(min_value=0, max_value=2**32 - 1))
def test_scalar_mul_matches_big_integer_arithmetic(values: list[int], k: int) -> None:
    assert scalar_mul(residues(values), k).tolist() == [(x * k) % P for x in values]


@given(st.lists(st.tuples(residue, residue), min_size=1, max_size=40))
def test_in_place_forms_agree_with_the_pure_ones(pairs: list[tuple[int, int]]) -> None:
    a, b = residues([x for x, _ in pairs]), residues([y for _, y in pairs])
    total, difference, scratch = a.copy(), a.copy(), np.empty_like(a)

    add_into(total, b, scratch=scratch)
    sub_into(difference, b, scratch=scratch)

    assert np.array_equal(total, add(a, b)) and np.array_equal(difference, sub(a, b))


@pytest.mark.parametrize("k", [-1, 2**32])
def test_scalar_mul_refuses_scalars_outside_32_bits(k: int) -> None:
    with pytest.raises(InvalidInputError, match="k"):
        scalar_mul(residues([1]), k)

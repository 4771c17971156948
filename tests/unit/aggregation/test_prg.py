"""Mask expansion: deterministic, domain separated, reduced, fast enough."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.aggregation.field import P
from gateway.aggregation.prg import expand, expand_into
from gateway.errors import InvalidInputError

SEED = bytes(range(32))


@settings(max_examples=30)
@given(
    seed=st.binary(min_size=32, max_size=32),
    label=st.binary(min_size=1, max_size=20),
    shape=st.tuples(st.integers(0, 40), st.integers(0, 9)),
)
def test_expand_is_deterministic_reduced_and_shaped(
    seed: bytes, label: bytes, shape: tuple[int, int]
) -> None:
    first = expand(seed, label=label, shape=shape)

    assert first.shape == shape and first.dtype == np.uint64
    assert np.array_equal(first, expand(seed, label=label, shape=shape))
    assert bool((first < np.uint64(P)).all())


def test_expand_differs_across_labels_and_seeds() -> None:
    base = expand(SEED, label=b"pairwise-mask", shape=(64,))
    assert not np.array_equal(base, expand(SEED, label=b"query-mask", shape=(64,)))
    assert not np.array_equal(base, expand(SEED[::-1], label=b"pairwise-mask", shape=(64,)))


def test_expand_reads_the_stream_in_row_major_order() -> None:
    flat = expand(SEED, label=b"x", shape=(24,))
    assert np.array_equal(expand(SEED, label=b"x", shape=(4, 6)), flat.reshape(4, 6))
    assert np.array_equal(expand(SEED, label=b"x", shape=(10,)), flat[:10])


def test_expand_looks_uniform_over_the_field() -> None:
    # Coarse sanity, not a statistical test suite: both halves of the field and
    # the top bits are hit about equally often.
    values = expand(SEED, label=b"x", shape=(20_000,))
    upper = float((values > np.uint64(P // 2)).mean())
    assert 0.48 < upper < 0.52
    assert 0.11 < float((values >> np.uint64(58) == np.uint64(7)).mean()) < 0.14


def test_expand_into_writes_the_same_values() -> None:
    out, scratch = np.empty((3, 5), dtype=np.uint64), np.empty((3, 5), dtype=np.uint64)
    expand_into(SEED, label=b"x", out=out, scratch=scratch)
    assert np.array_equal(out, expand(SEED, label=b"x", shape=(3, 5)))


@pytest.mark.parametrize(
    ("seed", "label", "shape", "field"),
    [
        (bytes(31), b"x", (1,), "seed"),
        (SEED, b"", (1,), "label"),
        (SEED, b"x", (-1,), "shape"),
        (SEED, b"x", (2**14, 2**14), "shape"),
    ],
)
def test_expand_refuses_malformed_input(
    seed: bytes, label: bytes, shape: tuple[int, ...], field: str
) -> None:
    with pytest.raises(InvalidInputError, match=field):
        expand(seed, label=label, shape=shape)


def test_expand_into_refuses_mismatched_buffers() -> None:
    with pytest.raises(InvalidInputError, match="scratch"):
        expand_into(SEED, label=b"x", out=np.empty(4, np.uint64), scratch=np.empty(3, np.uint64))
    with pytest.raises(InvalidInputError, match="out"):
        strided = np.empty((4, 4), np.uint64)[:, ::2]
        expand_into(SEED, label=b"x", out=strided, scratch=np.empty((4, 2), np.uint64))

from __future__ import annotations

import contextlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from federated.errors import FeatureSpecError
from federated.features.spec import load_spec, parse_spec
from federated.settings import DEFAULT_SPEC

MINIMAL = b"""
[spec]
name = "t"
version = 1
target = "y"

[[feature]]
column = "a"
kind = "numeric"
transform = "log1p"
clip = [0, 100]

[[feature]]
column = "b"
kind = "categorical"
categories = [1, 2]
"""


def test_uci_spec_loads_with_29_inputs() -> None:
    spec = load_spec(DEFAULT_SPEC)
    assert spec.target == "default_next_month"
    assert len(spec.features) == 23
    assert spec.width == 29
    assert len(spec.input_names()) == 29
    assert len(spec.digest) == 64


def test_encode_applies_clip_transform_and_one_hot() -> None:
    spec = parse_spec(MINIMAL)
    matrix = spec.encode({"a": np.array([-5.0, 0.0, 1000.0]), "b": np.array([1.0, 2.0, 7.0])})
    expected = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [np.log1p(100.0), 0.0, 0.0]])
    np.testing.assert_allclose(matrix, expected, rtol=1e-6)


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        (b'kind = "numeric"', b'kind = "text"', "feature[0].kind"),
        (b'transform = "log1p"', b'transform = "sqrt"', "feature[0].transform"),
        (b"clip = [0, 100]", b"clip = [100, 0]", "feature[0].clip"),
        (b"clip = [0, 100]", b"clip = [-1, 100]", "feature[0].clip"),
        (b"categories = [1, 2]", b"categories = []", "feature[1].categories"),
        (b"version = 1", b"version = 0", "spec.version"),
        (b'target = "y"', b'target = "a"', "spec.target"),
        (b'column = "b"', b'column = "a"', "feature.column"),
        (b'column = "b"', b'column = "b"\nweight = 2', "feature[1]: unknown keys"),
    ],
)
def test_malformed_fields_are_named(old: bytes, new: bytes, field: str) -> None:
    with pytest.raises(FeatureSpecError, match=field.replace("[", r"\[").replace("]", r"\]")):
        parse_spec(MINIMAL.replace(old, new))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_parse_or_raise_feature_spec_error(data: bytes) -> None:
    with contextlib.suppress(FeatureSpecError):
        parse_spec(data)


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["column", "kind", "transform", "clip", "categories"]),
        st.one_of(st.text(max_size=5), st.integers(-3, 3), st.lists(st.integers(-3, 3), max_size=3)),
    )
)
def test_arbitrary_feature_tables_parse_or_raise(table: dict[str, object]) -> None:
    import tomli_w

    document = {"spec": {"name": "t", "version": 1, "target": "y"}, "feature": [table]}
    try:
        spec = parse_spec(tomli_w.dumps(document).encode())
    except FeatureSpecError:
        return
    assert spec.features[0].kind in {"numeric", "ordinal", "categorical"}

from __future__ import annotations

import contextlib
import datetime as dt
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from federated.errors import FeatureSpecError
from federated.features.encoding import encode
from federated.features.sources import Rows, load_table
from federated.features.spec import load_spec, parse_spec
from federated.features.values import CellError, read_cell
from federated.settings import DEFAULT_SPEC

AS_OF = dt.date(2030, 1, 1)
MINIMAL = b"""
[spec]
name = "t"
version = 1
target = "y"

[[feature]]
column = "a"
type = "number"
transform = "log1p"
clip = [0, 100]
missing = "mean"

[[feature]]
column = "b"
type = "category"
categories = ["x", "z"]

[[feature]]
column = "c"
type = "flag"
true = ["Y"]
false = ["N"]
"""


def test_uci_spec_loads_with_29_inputs() -> None:
    spec = load_spec(DEFAULT_SPEC)
    assert spec.target == "default_next_month"
    assert len(spec.features) == 23
    assert spec.width == 29
    assert len(spec.input_names()) == 29
    assert len(spec.digest) == 64


def test_encode_scales_imputes_indicates_and_one_hots() -> None:
    spec = parse_spec(MINIMAL)
    a = np.array([-5.0, 100.0, math.nan])
    columns = {"a": a, "b": np.array([0.0, 1.0, 0.0]), "c": np.array([1.0, 0.0, 1.0])}
    matrix = encode(spec, columns, {"a": 0.25})
    # a: clipped to [0, 100], log1p, scaled onto [-1, 1]; NaN takes the agreed 0.25 and sets a:missing.
    expected = np.array([[-1.0, 0.0, 1.0, 0.0, 1.0], [1.0, 0.0, 0.0, 1.0, 0.0], [0.25, 1.0, 1.0, 0.0, 1.0]])
    np.testing.assert_allclose(matrix, expected, rtol=1e-6)
    assert spec.input_names() == ["a", "a:missing", "b=x", "b=z", "c"]


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        (b'type = "number"', b'type = "text"', "feature[0] (a).type"),
        (b'transform = "log1p"', b'transform = "sqrt"', "feature[0] (a).transform"),
        (b"clip = [0, 100]", b"clip = [100, 0]", "feature[0] (a).clip"),
        (b"clip = [0, 100]", b"clip = [-1, 100]", "feature[0] (a).clip"),
        (b'missing = "mean"', b'missing = "guess"', "feature[0] (a).missing"),
        (b'categories = ["x", "z"]', b'categories = ["x", "z"]\nmissing = "mean"', "feature[1] (b).missing"),
        (b'categories = ["x", "z"]', b"categories = []", "feature[1] (b).categories"),
        (b'true = ["Y"]', b'true = ["N"]', "feature[2] (c).true"),
        (b"version = 1", b"version = 0", "spec.version"),
        (b'target = "y"', b'target = "a"', "spec.target"),
        (b'column = "b"', b'column = "a"', "feature.column"),
        (b'column = "b"', b'column = "b"\nweight = 2', "feature[1] (b): unknown keys"),
    ],
)
def test_malformed_fields_are_named(old: bytes, new: bytes, field: str) -> None:
    escaped = field.replace("[", r"\[").replace("]", r"\]").replace("(", r"\(").replace(")", r"\)")
    with pytest.raises(FeatureSpecError, match=escaped):
        parse_spec(MINIMAL.replace(old, new))


def test_a_category_outside_the_code_table_is_refused_naming_column_and_row() -> None:
    spec = parse_spec(MINIMAL)
    rows = Rows(("a", "b", "c", "y"), [("r1", {"a": "3", "b": "x", "c": "Y", "y": "0"}),
                                       ("r2", {"a": "4", "b": "w", "c": "N", "y": "1"})], "book")  # fmt: skip
    with pytest.raises(FeatureSpecError, match=r"row 2 \(r2\): column 'b': category not in the code table"):
        load_table(rows, spec, as_of=AS_OF)


def test_a_missing_column_is_refused_by_name() -> None:
    spec = parse_spec(MINIMAL)
    rows = Rows(("a", "c", "y"), [("r1", {"a": "3", "c": "Y", "y": "0"})], "book")
    with pytest.raises(FeatureSpecError, match=r"lacks columns \['b'\]"):
        load_table(rows, spec, as_of=AS_OF)


def test_an_empty_cell_under_refuse_is_refused_and_under_mean_is_kept() -> None:
    spec = parse_spec(MINIMAL)
    with pytest.raises(CellError, match="required value is missing"):
        read_cell(spec.feature("b"), "", as_of=AS_OF)
    assert math.isnan(read_cell(spec.feature("a"), " NA ", as_of=AS_OF))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_parse_or_raise_feature_spec_error(data: bytes) -> None:
    with contextlib.suppress(FeatureSpecError):
        parse_spec(data)


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["column", "type", "transform", "clip", "categories", "missing", "unit", "unknown"]),
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
    assert spec.features[0].type in {"number", "category", "date", "flag"}

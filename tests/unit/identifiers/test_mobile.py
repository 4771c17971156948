from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.errors import InvalidInputError
from gateway.identifiers import normalise_mobile


@pytest.mark.parametrize(
    "raw",
    [
        "13800138000",
        "+86 138 0013 8000",
        "0086-138-0013-8000",
        "8613800138000",
        "１３８００１３８０００",
        "138-0013-8000",
        "+86(138)00138000",
    ],
)
def test_accepted_forms_normalise_to_11_digits(raw: str) -> None:
    assert normalise_mobile(raw) == "13800138000"


@pytest.mark.parametrize("raw", ["12800138000", "1380013800", "138001380001", "010-12345678", "abc", ""])
def test_non_mobile_numbers_are_rejected(raw: str) -> None:
    with pytest.raises(InvalidInputError, match="mobile"):
        normalise_mobile(raw, field="phone")


@given(
    st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True),
    st.sampled_from(["", "+86", "0086", "+86 "]),
    st.sampled_from(["", " ", "-"]),
)
def test_prefixes_and_separators_never_change_the_number(number: str, prefix: str, separator: str) -> None:
    spaced = separator.join([number[:3], number[3:7], number[7:]])

    assert normalise_mobile(prefix + spaced) == number

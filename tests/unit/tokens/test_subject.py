"""OPRF inputs for subjects: normalisation, domain separation, token validation."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.errors import InvalidInputError
from gateway.identifiers import resident_id_check_char
from gateway.tokens import SubjectToken, TokenType, token_input, token_inputs

FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")


@st.composite
def legacy_resident_ids(draw: st.DrawFn) -> tuple[str, str]:
    """A 15-digit legacy ID (born 1900-1999) and its 18-character form."""
    region = draw(st.from_regex(r"[1-9][0-9]{5}", fullmatch=True))
    born = draw(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(1999, 12, 31)))
    sequence = draw(st.from_regex(r"[0-9]{3}", fullmatch=True))
    first17 = f"{region}{born:%Y%m%d}{sequence}"
    return f"{region}{born:%y%m%d}{sequence}", first17 + resident_id_check_char(first17)


def spaced(value: str, cuts: list[int]) -> str:
    for cut in sorted(set(cuts), reverse=True):
        value = value[:cut] + " " + value[cut:]
    return value


@given(legacy_resident_ids(), st.lists(st.integers(min_value=1, max_value=14), max_size=4))
def test_the_forms_of_one_resident_id_give_one_input(ids: tuple[str, str], cuts: list[int]) -> None:
    # Prepare
    legacy, modern = ids
    forms = [
        legacy,
        modern,
        modern.lower(),
        modern.translate(FULL_WIDTH),
        spaced(modern, cuts),
        spaced(legacy, cuts).translate(FULL_WIDTH),
    ]

    # Execute
    inputs = {token_input(TokenType.RESIDENT_ID, form) for form in forms}

    # Assert
    assert inputs == {b"credgate/v1/resident_id/" + modern.encode("ascii")}


@given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True))
def test_the_forms_of_one_mobile_give_one_input(mobile: str) -> None:
    forms = [
        mobile,
        "+86 " + mobile,
        "0086" + mobile,
        f"{mobile[:3]}-{mobile[3:7]}-{mobile[7:]}",
        mobile.translate(FULL_WIDTH),
    ]

    inputs = {token_input(TokenType.MOBILE, form) for form in forms}

    assert inputs == {b"credgate/v1/mobile/" + mobile.encode("ascii")}


def test_a_mobile_and_a_resident_id_never_share_an_input() -> None:
    # Prepare: the strings are different lengths anyway; the typed prefix makes
    # the inputs distinct even if a normaliser ever produced the same digits.
    resident = token_input(TokenType.RESIDENT_ID, "11010519491231002X")
    mobile = token_input(TokenType.MOBILE, "13800138000")

    # Assert
    assert resident.startswith(b"credgate/v1/resident_id/")
    assert mobile.startswith(b"credgate/v1/mobile/")
    assert not resident.startswith(b"credgate/v1/mobile/")


def test_token_inputs_names_the_index_of_a_bad_value() -> None:
    with pytest.raises(InvalidInputError, match=r"mobile\[1\]") as caught:
        token_inputs(TokenType.MOBILE, ["13800138000", "12345"])

    assert caught.value.field == "mobile[1]"


def test_token_input_refuses_an_invalid_resident_id_without_echoing_it() -> None:
    with pytest.raises(InvalidInputError, match="check character") as caught:
        token_input(TokenType.RESIDENT_ID, "110105194912310021")

    assert "110105194912310021" not in str(caught.value)


def test_a_subject_token_holds_a_64_byte_value_and_hides_it() -> None:
    token = SubjectToken(TokenType.MOBILE, 2, b"\x07" * 64)

    assert token.key_epoch == 2
    assert ("07" * 64) not in repr(token)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"type": "mobile", "key_epoch": 1, "value": b"\x00" * 64}, "type"),
        ({"type": TokenType.MOBILE, "key_epoch": 0, "value": b"\x00" * 64}, "key_epoch"),
        ({"type": TokenType.MOBILE, "key_epoch": 1, "value": b"\x00" * 32}, "value"),
        ({"type": TokenType.MOBILE, "key_epoch": 1, "value": "00" * 64}, "value"),
    ],
    ids=["untyped-type", "epoch-0", "short-value", "str-value"],
)
def test_a_subject_token_refuses_bad_fields(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        SubjectToken(**kwargs)  # type: ignore[arg-type]  # deliberately wrong types

    assert caught.value.field == field

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.errors import InvalidInputError
from gateway.identifiers import normalise_resident_id, resident_id_check_char

VALID = "11010519491231002X"  # GB 11643-1999 worked example


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (VALID, VALID),
        (VALID.lower(), VALID),
        ("110105 19491231 002x", VALID),
        ("１１０１０５１９４９１２３１００２Ｘ", VALID),
        ("110105-19491231-002X", VALID),
        ("110105491231002", VALID),  # legacy 15-digit form
    ],
)
def test_accepted_forms_normalise_to_18_characters(raw: str, expected: str) -> None:
    assert normalise_resident_id(raw) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("110105194912310021", "check character"),
        ("11010519491331002X", "not a calendar date"),
        ("11010518491231002X", "before 1900"),
        ("1101051949123100", "expected 18 characters"),
        ("01010519491231002X", "expected 18 characters"),
        ("11010519491231002Y", "expected 18 characters"),
        ("", "expected 18 characters"),
    ],
)
def test_invalid_numbers_are_rejected_naming_the_field(raw: str, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message) as error:
        normalise_resident_id(raw, field="id_no")
    assert error.value.field == "id_no"


@given(
    st.from_regex(
        r"[1-9][0-9]{5}(19[0-9]{2}|20[01][0-9])(0[1-9]|1[0-2])(0[1-9]|1[0-9]|2[0-8])[0-9]{3}", fullmatch=True
    )
)
def test_any_number_with_its_check_character_round_trips(first17: str) -> None:
    number = first17 + resident_id_check_char(first17)

    assert normalise_resident_id(number) == number
    assert normalise_resident_id(" ".join(number)) == number


@given(
    st.from_regex(r"[1-9][0-9]{5}19[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|1[0-9]|2[0-8])[0-9]{3}", fullmatch=True),
    st.integers(0, 16),
    st.integers(1, 9),
)
def test_a_single_changed_digit_fails_the_checksum(first17: str, position: int, delta: int) -> None:
    number = first17 + resident_id_check_char(first17)
    changed = number[:position] + str((int(number[position]) + delta) % 10) + number[position + 1 :]

    with pytest.raises(InvalidInputError):
        normalise_resident_id(changed)

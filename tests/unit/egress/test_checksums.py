"""Property tests for the check-digit helpers and the digit folding the recognizers rely on."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gateway.egress.checksums import USCC_ALPHABET, luhn_valid, uscc_check_char, uscc_valid
from gateway.egress.recognizers.bank_card import BankCardRecognizer
from gateway.egress.recognizers.resident_id import ResidentIDRecognizer
from gateway.identifiers import resident_id_check_char

_FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def _luhn_complete(body: str) -> str:
    for check in "0123456789":
        if luhn_valid(body + check):
            return body + check
    raise AssertionError("no Luhn digit")


@given(st.text(alphabet="0123456789", min_size=12, max_size=18))
def test_exactly_one_luhn_check_digit_completes_any_body(body: str) -> None:
    assert sum(luhn_valid(body + check) for check in "0123456789") == 1


@given(st.text(alphabet="0123456789", min_size=15, max_size=18), st.integers(0, 100), st.integers(1, 9))
def test_changing_one_digit_breaks_luhn(body: str, where: int, delta: int) -> None:
    number = _luhn_complete(body)
    index = where % len(number)
    changed = number[:index] + str((int(number[index]) + delta) % 10) + number[index + 1 :]
    assert not luhn_valid(changed)


@given(st.text(alphabet=USCC_ALPHABET, min_size=17, max_size=17))
def test_uscc_with_its_check_character_is_valid_and_any_other_is_not(first17: str) -> None:
    check = uscc_check_char(first17)
    assert uscc_valid(first17 + check)
    assert not any(uscc_valid(first17 + other) for other in USCC_ALPHABET if other != check)


@given(
    st.sampled_from(["110105", "440305", "510107"]),
    st.dates(),
    st.integers(0, 999),
    st.booleans(),
    st.sampled_from(["", " ", "-"]),
)
def test_every_surface_form_of_a_valid_id_is_found_whole(
    region: str, born: object, seq: int, full: bool, sep: str
) -> None:
    first17 = f"{region}{born:%Y%m%d}{seq:03d}"
    if not first17[6:10].isdigit() or int(first17[6:10]) < 1900 or len(first17) != 17:
        return
    value = first17 + resident_id_check_char(first17)
    value = value.replace("X", "x")
    surface = f"{value[:6]}{sep}{value[6:14]}{sep}{value[14:]}"
    if full:
        surface = surface.translate(_FULL_WIDTH)
    text = f"身份证{surface}。"
    [result] = ResidentIDRecognizer().analyze(text, [])
    assert text[result.start : result.end] == surface


@given(st.text(alphabet="0123456789", min_size=13, max_size=16))
def test_full_width_and_grouped_card_numbers_score_like_ascii(body: str) -> None:
    number = _luhn_complete("62" + body)
    grouped = " ".join(number[i : i + 4] for i in range(0, len(number), 4))
    scores = [
        [r.score for r in BankCardRecognizer().analyze(form, [])]
        for form in (number, grouped, number.translate(_FULL_WIDTH))
    ]
    assert scores == [[0.6], [0.6], [0.6]]

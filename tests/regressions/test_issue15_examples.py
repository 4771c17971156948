"""Regression (issue #15): what a new user tried on hand-written collection notes, and what went wrong.

Each example failed before: an address after 现住 and a workplace address were not masked, an ID
number with a wrong check digit and a card number failing Luhn went out in clear, a name match
swallowed the next character (``刘芳电话`` -> ``<CN_PERSON>话``), and a football club was masked
as a person.
"""

from __future__ import annotations

import pytest

from gateway.egress.redactor import Redactor


@pytest.fixture(scope="module")
def redactor() -> Redactor:
    return Redactor()


@pytest.mark.parametrize(
    ("note", "expected"),
    [
        (
            "债务人现住杭州市西湖区翠苑一区12幢3单元501室，电话未接。",
            "债务人现住<CN_ADDRESS>，电话未接。",
        ),
        (
            "其工作单位地址：深圳市南山区科苑路15号科兴科学园B栋。",
            "其工作单位地址：<CN_ADDRESS>。",
        ),
        ("借款人身份证号110105194912310012，已核实。", "借款人身份证号<SUSPECT_IDENTIFIER>，已核实。"),
        ("还款卡号6222021234567890127，户主本人。", "还款卡号<SUSPECT_IDENTIFIER>，户主本人。"),
        ("联系人刘芳电话13800138000。", "联系人<CN_PERSON>电话<CN_MOBILE>。"),
    ],
)
def test_each_example_is_redacted_exactly(redactor: Redactor, note: str, expected: str) -> None:
    assert redactor.redact(note).text == expected


@pytest.mark.parametrize(
    "sentence",
    [
        "瓦拉多利德在经过魔鬼赛程的三连败和一球未进的尴尬局面后，上轮以3比0大胜马略卡，",
        "本轮西甲，瓦拉多利德主场迎战塞维利亚。",
    ],
)
def test_a_football_club_is_not_masked_as_a_person(redactor: Redactor, sentence: str) -> None:
    result = redactor.redact(sentence)

    assert "瓦拉多利德" in result.text
    assert all(f.entity_type != "CN_PERSON" for f in result.findings)


def test_explain_names_the_failed_check_of_a_suspect_identifier(redactor: Redactor) -> None:
    [finding] = redactor.redact("卡号6222021234567890127").findings

    assert (finding.entity_type, finding.recognizer) == ("SUSPECT_IDENTIFIER", "SuspectIdentifierRecognizer")
    assert "Luhn" in finding.detail

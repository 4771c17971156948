"""Tables for the recognizers of issue #15: near-miss identifiers, address cues, exact name spans."""

from __future__ import annotations

import pytest

from gateway.egress.recognizers._base import ValidatedRecognizer
from gateway.egress.recognizers.address_cue import AddressCueRecognizer
from gateway.egress.recognizers.person import PersonRuleRecognizer
from gateway.egress.recognizers.suspect import SuspectIdentifierRecognizer


def _spans(recognizer: ValidatedRecognizer, text: str) -> list[str]:
    return [text[r.start : r.end] for r in recognizer.analyze(text, []) if r.score >= 0.5]


SUSPECT: list[tuple[str, list[str]]] = [
    # Resident-ID shape: bad check character, impossible date, unknown region -> suspect.
    ("身份证110105194912310012，已核实", ["110105194912310012"]),
    ("身份证11010519491331001X", ["11010519491331001X"]),
    ("证件990105194912310011", ["990105194912310011"]),
    ("身份证110105 19491231 0012", ["110105 19491231 0012"]),
    ("身份证110105194912310011", []),  # valid: CN_RESIDENT_ID's job
    ("身份证110105194912310010", ["110105194912310010"]),  # wrong check digit that happens to pass Luhn
    # Card shape failing Luhn: with a UnionPay prefix or a card word.
    ("卡号6222021234567890127", ["6222021234567890127"]),
    ("转账到6222021234567890127", ["6222021234567890127"]),
    ("卡号 1234 5678 1234 5679", ["1234 5678 1234 5679"]),
    ("卡号6222021234567890128", []),  # Luhn-valid: BANK_CARD's job
    ("订单号6222021234567890127", []),  # negative context
    ("流水号1234567890123456", []),
    ("参考号1234567890123456", []),  # no prefix, no card word
    # Credit-code shape failing its check character.
    ("代码91350100M000100Y44", ["91350100M000100Y44"]),
    ("代码91350100M000100Y43", []),
    # Mobile shape with separators the mobile recognizer does not read, or one digit off.
    ("手机138.0013.8000", ["138.0013.8000"]),
    ("手机138/0013/8000", ["138/0013/8000"]),
    ("电话138-0013-800", ["138-0013-800"]),
    ("电话138 0013 80001", ["138 0013 80001"]),
    ("手机173 - 3839 - 5217", ["173 - 3839 - 5217"]),
    ("手机182  4170  5164", ["182  4170  5164"]),
    ("手机13800138000", []),  # valid: CN_MOBILE's job
    ("手机+86 138 0013 8000", []),
    # Hard negatives.
    ("金额12,345.00元，2023-05-12到期", []),
    ("合同编号HT2023051200001", []),
    ("编号20230512123456789012", []),
    ("共1380人参加", []),
]


@pytest.mark.parametrize(("text", "expected"), SUSPECT)
def test_near_miss_identifiers_are_suspect(text: str, expected: list[str]) -> None:
    assert _spans(SuspectIdentifierRecognizer(), text) == expected


@pytest.mark.parametrize(
    ("text", "check"),
    [
        ("身份证110105194912310012", "resident-ID"),
        ("卡号6222021234567890127", "Luhn"),
        ("代码91350100M000100Y44", "credit-code"),
        ("手机138.0013.8000", "mobile"),
    ],
)
def test_the_explanation_names_the_failed_check_and_not_the_value(text: str, check: str) -> None:
    [result] = SuspectIdentifierRecognizer().analyze(text, [])
    explanation = result.analysis_explanation.textual_explanation

    assert check in explanation
    assert text[result.start : result.end] not in explanation


CUES: list[tuple[str, list[str]]] = [
    ("现住杭州市西湖区文三路翠苑一区12幢3单元501室，电话未留", ["杭州市西湖区文三路翠苑一区12幢3单元501室"]),
    ("单位地址：深圳市南山区科技园中区科苑路15号。", ["深圳市南山区科技园中区科苑路15号"]),
    ("户籍地河南省周口市淮阳区白楼镇李庄村", ["河南省周口市淮阳区白楼镇李庄村"]),
    ("家住阳光花园小区东门旁边，手机关机", ["阳光花园小区东门旁边"]),
    ("现住址为 成都市武侯区玉林北路 电话13800138000", ["成都市武侯区玉林北路"]),
    ("现住址不详。", []),
    ("地址未知", []),
    ("他说住在那边", []),  # no address evidence
]


@pytest.mark.parametrize(("text", "expected"), CUES)
def test_address_cues_mask_what_follows_to_the_end_of_the_clause(text: str, expected: list[str]) -> None:
    assert _spans(AddressCueRecognizer(), text) == expected


NAMES: list[tuple[str, list[str]]] = [
    ("联系人刘芳电话13800138000", ["刘芳"]),
    ("债务人王小明手机关机", ["王小明"]),
    ("借款人张伟住址不详", ["张伟"]),
    ("债务人李娜说下周还", ["李娜"]),
    ("债务人欧阳娜娜已还款", ["欧阳娜娜"]),
]


@pytest.mark.parametrize(("text", "expected"), NAMES)
def test_a_rule_name_never_takes_the_next_word(text: str, expected: list[str]) -> None:
    assert _spans(PersonRuleRecognizer(), text) == expected

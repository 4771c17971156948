"""One parametrized table per recognizer: positives, negatives, checksum failures, adversarial forms."""

from __future__ import annotations

import pytest

from gateway.egress.recognizers._base import ValidatedRecognizer
from gateway.egress.recognizers.address import AddressRuleRecognizer
from gateway.egress.recognizers.bank_card import BankCardRecognizer
from gateway.egress.recognizers.email import OfflineEmailRecognizer
from gateway.egress.recognizers.landline import LandlineRecognizer
from gateway.egress.recognizers.license_plate import LicensePlateRecognizer
from gateway.egress.recognizers.mobile import MobileRecognizer
from gateway.egress.recognizers.person import PersonRuleRecognizer
from gateway.egress.recognizers.resident_id import ResidentIDRecognizer
from gateway.egress.recognizers.uscc import USCCRecognizer


def _spans(recognizer: ValidatedRecognizer, text: str, threshold: float = 0.0) -> list[str]:
    return [text[r.start : r.end] for r in recognizer.analyze(text, []) if r.score >= threshold]


CASES: list[tuple[type[ValidatedRecognizer], str, list[str]]] = [
    # Resident ID: valid 18-digit, lower-case x, full-width, spaced, dashed, legacy 15-digit.
    (ResidentIDRecognizer, "身份证号110105194912310011，已核实", ["110105194912310011"]),
    (ResidentIDRecognizer, "证件11010519491231002x", ["11010519491231002x"]),  # lower-case x
    (ResidentIDRecognizer, "号码：43012419900307121x。", []),
    (ResidentIDRecognizer, "号码：11010119900307803x。", ["11010119900307803x"]),
    (ResidentIDRecognizer, "号码：11010119900307803X。", ["11010119900307803X"]),
    (
        ResidentIDRecognizer,
        "身份证１１０１０５１９４９１２３１００１１",
        ["１１０１０５１９４９１２３１００１１"],
    ),
    (ResidentIDRecognizer, "身份证 110105 19491231 0011 ok", ["110105 19491231 0011"]),
    (ResidentIDRecognizer, "身份证110105-19491231-0011", ["110105-19491231-0011"]),
    (ResidentIDRecognizer, "老身份证110105491231002", ["110105491231002"]),
    (ResidentIDRecognizer, "身份证110105194912310012", []),  # check digit off by one
    (ResidentIDRecognizer, "身份证110105194913310011", []),  # month 13
    (ResidentIDRecognizer, "订单1101051949123100110", []),  # 19 digits: not an ID
    (ResidentIDRecognizer, "编号990105194912310011", []),  # province 99 does not exist
    (ResidentIDRecognizer, "老号110105491331002", []),  # legacy with month 13
    # Mobile.
    (MobileRecognizer, "手机13800138000", ["13800138000"]),
    (MobileRecognizer, "电话+86 138-0013-8000。", ["+86 138-0013-8000"]),
    (MobileRecognizer, "电话0086 13800138000", ["0086 13800138000"]),
    (MobileRecognizer, "电话(+86)13800138000", ["(+86)13800138000"]),
    (MobileRecognizer, "号码１３８００１３８０００", ["１３８００１３８０００"]),
    (MobileRecognizer, "打138 0013 8000找他", ["138 0013 8000"]),
    (MobileRecognizer, "号码12800138000", []),
    (MobileRecognizer, "订单号2013800138000123", []),
    (MobileRecognizer, "1380013800", []),
    # Landline.
    (LandlineRecognizer, "座机010-62345678", ["010-62345678"]),
    (LandlineRecognizer, "电话(0755)26543210转8", ["(0755)26543210"]),
    (LandlineRecognizer, "电话（0571）8765432", ["（0571）8765432"]),
    (LandlineRecognizer, "电话0731 2476 099", ["0731 2476 099"]),
    (LandlineRecognizer, "电话010-1234567", []),  # Beijing needs 8 local digits
    (LandlineRecognizer, "电话010-02345678", []),  # local number cannot start with 0
    (LandlineRecognizer, "热线400-820-8820", []),
    # Bank card: Luhn + issuer prefix, or context.
    (BankCardRecognizer, "卡号6222021234567890128", ["6222021234567890128"]),
    (BankCardRecognizer, "卡号6222 0212 3456 7890 128", ["6222 0212 3456 7890 128"]),
    (
        BankCardRecognizer,
        "卡号６２２２０２１２３４５６７８９０１２８",
        ["６２２２０２１２３４５６７８９０１２８"],
    ),
    (BankCardRecognizer, "信用卡4111-1111-1111-1111", ["4111-1111-1111-1111"]),
    (BankCardRecognizer, "卡号6222021234567890127", []),  # Luhn fails
    (BankCardRecognizer, "订单号6222021234567890128", []),  # negative context
    (BankCardRecognizer, "流水号4111111111111111", []),
]


@pytest.mark.parametrize(("cls", "text", "expected"), CASES)
def test_structured_recognizers_find_exactly_the_expected_spans(
    cls: type[ValidatedRecognizer], text: str, expected: list[str]
) -> None:
    assert _spans(cls(), text, threshold=0.5 if cls is not BankCardRecognizer else 0.6) == expected


@pytest.mark.parametrize(
    ("text", "score"),
    [("1234567812345670", 0.3), ("6222021234567890128", 0.6), ("4111111111111111", 0.6)],
)
def test_bank_card_without_issuer_prefix_scores_below_threshold_until_context(
    text: str, score: float
) -> None:
    [result] = BankCardRecognizer().analyze(text, [])
    assert result.score == score


OTHER: list[tuple[type[ValidatedRecognizer], str, list[str]]] = [
    (USCCRecognizer, "信用代码91350100M000100Y43", ["91350100M000100Y43"]),
    (USCCRecognizer, "代码91110000600037341L。", ["91110000600037341L"]),
    (USCCRecognizer, "代码91350100M000100Y44", []),  # check character wrong
    (USCCRecognizer, "代码91350100M000100Y4", []),
    (OfflineEmailRecognizer, "邮箱zhang.wei@163.com，请回复", ["zhang.wei@163.com"]),
    (OfflineEmailRecognizer, "邮箱abc@company.com.cn联系", ["abc@company.com.cn"]),
    (OfflineEmailRecognizer, "邮箱abc..x@qq.com", []),
    (OfflineEmailRecognizer, "价格@100元", []),
    (LicensePlateRecognizer, "车牌京A12345", ["京A12345"]),
    (LicensePlateRecognizer, "车牌粤B·D12345", ["粤B·D12345"]),
    (LicensePlateRecognizer, "新能源沪AD12345", ["沪AD12345"]),
    (LicensePlateRecognizer, "京ABCDEF", []),
    (LicensePlateRecognizer, "京A1234", []),
    (PersonRuleRecognizer, "债务人张伟于昨日来电", ["张伟"]),
    (PersonRuleRecognizer, "联系到王建国先生", ["王建国"]),
    (PersonRuleRecognizer, "客户：欧阳娜娜说", ["欧阳娜娜"]),
    (PersonRuleRecognizer, "今天天气很好", []),
    (AddressRuleRecognizer, "住址北京市朝阳区建国路88号", ["北京市朝阳区建国路88号"]),
    (
        AddressRuleRecognizer,
        "前往湖北省武汉市洪山区书城路243号5号楼102，不在家",
        ["湖北省武汉市洪山区书城路243号5号楼102"],
    ),
    (AddressRuleRecognizer, "他在上海工作", []),
    (AddressRuleRecognizer, "河南省周口市淮阳区白楼镇李庄村3组", ["河南省周口市淮阳区白楼镇李庄村3组"]),
]


@pytest.mark.parametrize(("cls", "text", "expected"), OTHER)
def test_other_recognizers_find_exactly_the_expected_spans(
    cls: type[ValidatedRecognizer], text: str, expected: list[str]
) -> None:
    assert _spans(cls(), text) == expected

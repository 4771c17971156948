"""The Redactor: placeholders, findings without values, structured-only mode, threads."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from gateway.egress.redactor import Redactor
from gateway.errors import InvalidInputError

NOTE = "债务人张伟，身份证11010519491231002x，手机+86 138-0013-8000，住北京市朝阳区建国路88号。"


def test_redact_replaces_each_entity_with_its_typed_placeholder(redactor: Redactor) -> None:
    result = redactor.redact(NOTE)

    assert result.text == "债务人<CN_PERSON>，身份证<CN_RESIDENT_ID>，手机<CN_MOBILE>，住<CN_ADDRESS>。"
    assert [f.entity_type for f in result.findings] == [
        "CN_PERSON",
        "CN_RESIDENT_ID",
        "CN_MOBILE",
        "CN_ADDRESS",
    ]
    assert NOTE[result.findings[1].start : result.findings[1].end] == "11010519491231002x"


def test_findings_never_carry_the_value(redactor: Redactor) -> None:
    result = redactor.redact(NOTE)

    assert all("13800138000" not in repr(f) and "张伟" not in repr(f) for f in result.findings)


def test_redact_many_equals_redact_one_by_one(redactor: Redactor) -> None:
    texts = [NOTE, "没有敏感信息的一句话。", "卡号6222021234567890128，户名李娜。", ""]

    assert redactor.redact_many(texts) == [redactor.redact(text) for text in texts]


def test_structured_only_never_loads_the_ner_model() -> None:
    redactor = Redactor.structured_only()

    result = redactor.redact(NOTE)

    assert "<CN_MOBILE>" in result.text and "张伟" in result.text
    assert not redactor.ner_loaded


def test_hard_negatives_are_left_alone(redactor: Redactor) -> None:
    text = "订单号20230512123456789012，金额¥12,345.00，2023-05-12到期，合同编号HT2023051200001。"

    assert redactor.redact(text).text == text


def test_unknown_entity_type_is_rejected() -> None:
    with pytest.raises(InvalidInputError, match="entity types"):
        Redactor(entities=["IBAN"])


def test_redactor_is_thread_safe(redactor: Redactor) -> None:
    texts = [f"{NOTE}第{i}条" for i in range(40)]
    expected = redactor.redact_many(texts)

    with ThreadPoolExecutor(max_workers=4) as pool:
        got = list(pool.map(redactor.redact, texts))

    assert got == expected

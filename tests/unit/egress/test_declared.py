"""Recognizers declared in YAML: loading, finding, and validation errors that name the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import default_policies_dir
from gateway.egress.declared import FILE_NAME, DeclaredRecognizers
from gateway.errors import ConfigError

EMPLOYEE = """
version: 1
recognizers:
  - name: EmployeeNumberRecognizer
    entity: EMPLOYEE_NUMBER
    patterns:
      - name: staff
        regex: "(?<![A-Z0-9])(?P<v>CG[0-9]{6})(?![0-9])"
        score: 0.3
    context: [工号]
    negative_context: [订单]
  - name: CardTailRecognizer
    entity: CARD_WITH_CHECK
    patterns:
      - name: card
        regex: "[0-9]{16}"
        score: 0.8
    validator: luhn
"""


def _spans(declared: DeclaredRecognizers, text: str) -> list[tuple[str, str, float]]:
    return [
        (r.entity_type, text[r.start : r.end], r.score)
        for rec in declared.recognizers()
        for r in rec.analyze(text, [])
    ]


def test_the_shipped_file_loads_and_declares_its_entities() -> None:
    declared = DeclaredRecognizers.from_file(default_policies_dir() / FILE_NAME)

    assert declared.entities == ("CN_PASSPORT", "CN_HK_MACAU_PERMIT")


def test_a_declared_pattern_finds_its_span_with_the_declared_score() -> None:
    declared = DeclaredRecognizers.from_yaml(EMPLOYEE)

    assert _spans(declared, "催收员CG123456") == [("EMPLOYEE_NUMBER", "CG123456", 0.3)]
    assert _spans(declared, "卡4111111111111111") == [("CARD_WITH_CHECK", "4111111111111111", 0.8)]
    assert _spans(declared, "卡4111111111111112") == []  # the declared validator rejects it
    assert _spans(declared, "订单CG123456") == []  # negative context


def test_a_declared_recognizer_redacts_through_the_redactor_with_its_context() -> None:
    from gateway.egress.redactor import Redactor

    declared = DeclaredRecognizers.from_yaml(EMPLOYEE)
    redactor = Redactor(entities=["EMPLOYEE_NUMBER"], declared=declared)

    assert redactor.redact("工号CG123456已登记").text == "工号<EMPLOYEE_NUMBER>已登记"
    assert redactor.redact("型号CG123456").text == "型号CG123456"  # 0.3 < 0.5 without context


@pytest.mark.parametrize(
    ("yaml_text", "field"),
    [
        ("version: 2\nrecognizers: []\n", "version"),
        ("version: 1\nrecognizers:\n  - name: X\n", "recognizers.0.name"),
        (EMPLOYEE.replace("entity: EMPLOYEE_NUMBER", "entity: employee"), "recognizers.0.entity"),
        (EMPLOYEE.replace('regex: "[0-9]{16}"', 'regex: "[0-9"'), "recognizers.1.patterns.0.regex"),
        (EMPLOYEE.replace("score: 0.8", "score: 1.5"), "recognizers.1.patterns.0.score"),
        (EMPLOYEE.replace("validator: luhn", "validator: crc32"), "recognizers.1.validator"),
        (EMPLOYEE.replace("negative_context:", "negative_contexts:"), "recognizers.0.negative_contexts"),
        (EMPLOYEE.replace("CardTailRecognizer", "EmployeeNumberRecognizer"), "duplicates"),
        ("version: 1\nrecognizers: [", "expected YAML"),
    ],
)
def test_an_invalid_file_raises_a_config_error_naming_the_field(yaml_text: str, field: str) -> None:
    with pytest.raises(ConfigError, match=field):
        DeclaredRecognizers.from_yaml(yaml_text)


def test_a_missing_file_declares_nothing(tmp_path: Path) -> None:
    assert DeclaredRecognizers.from_file(tmp_path / FILE_NAME).entities == ()

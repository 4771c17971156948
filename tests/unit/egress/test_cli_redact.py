"""``credgate redact`` through Typer's CliRunner on an app we register into."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from gateway.cli.redact import register
from gateway.errors import InvalidInputError


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    app = typer.Typer()
    register(app)

    @app.command("noop")
    def _noop() -> None:  # a second command so Typer keeps "redact" as a subcommand
        """Do nothing."""

    return app


def test_plain_lines_are_redacted_line_by_line(app: typer.Typer) -> None:
    result = CliRunner().invoke(app, ["redact"], input="手机13800138000\n无敏感信息\n")

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["手机<CN_MOBILE>", "无敏感信息"]


def test_jsonl_keeps_other_fields_and_explain_adds_findings(app: typer.Typer) -> None:
    line = json.dumps({"id": 7, "text": "卡号6222021234567890128"}, ensure_ascii=False)

    result = CliRunner().invoke(app, ["redact", "--jsonl", "--explain"], input=line + "\n")

    assert result.exit_code == 0, result.output
    row = json.loads(result.stdout)
    assert row == {
        "id": 7,
        "text": "卡号<BANK_CARD>",
        "findings": [
            {
                "type": "BANK_CARD",
                "start": 2,
                "end": 21,
                "score": 0.95,
                "detector": "BankCardRecognizer",
                "why": "pattern and validator",
            }
        ],
    }


def test_plain_explain_writes_findings_to_stderr(app: typer.Typer) -> None:
    result = CliRunner().invoke(app, ["redact", "--explain", "--structured-only"], input="电话010-62345678\n")

    assert result.stdout == "电话<CN_LANDLINE>\n"
    assert json.loads(result.stderr)["findings"][0]["type"] == "CN_LANDLINE"


def test_jsonl_without_text_field_is_invalid_input(app: typer.Typer) -> None:
    result = CliRunner().invoke(app, ["redact", "--jsonl"], input='{"body": "x"}\n')

    assert isinstance(result.exception, InvalidInputError)
    assert "text" in result.exception.message


def test_explain_says_which_detector_fired_and_why_for_a_near_miss(app: typer.Typer) -> None:
    line = json.dumps({"text": "身份证110105194912310012"}, ensure_ascii=False)

    result = CliRunner().invoke(
        app, ["redact", "--jsonl", "--explain", "--structured-only"], input=line + "\n"
    )

    row = json.loads(result.stdout)
    assert row["text"] == "身份证<SUSPECT_IDENTIFIER>"
    [finding] = row["findings"]
    assert finding["detector"] == "SuspectIdentifierRecognizer"
    assert "check character" in finding["why"]
    assert "110105194912310012" not in json.dumps(row["findings"])

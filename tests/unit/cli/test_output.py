"""What the command line shows (#17 item 13): words in brackets survive, batch reasons and summary,
numbers as numbers in --json, --version."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from gateway import __version__
from gateway.cli.app import app
from gateway.cli.queries import _as_dict, summary, write_results
from gateway.queries.subject_check.answer import CheckStatus, SubjectCheckAnswer, no_answer
from gateway.queries.subject_check.messages import Coverage
from gateway.queries.subject_check.querier import CheckOutcome, SubjectRequest

COVERAGE = Coverage(members_asked=4, members_answered=3, attempts=1, participants=4)


def hit() -> SubjectCheckAnswer:
    return SubjectCheckAnswer(
        CheckStatus.HIT, COVERAGE, "2-3", {"none": "0", "1-10k": "2-3"}, {"current": "1"}, {}, {}, {}, "0"
    )


def test_error_messages_keep_words_in_brackets(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("tls = 5\n", encoding="utf-8")

    result = subprocess.run(
        [sys.executable, "-m", "gateway", "status", "--config", str(config)],
        capture_output=True, text=True, timeout=120, check=False, env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip

    assert result.returncode == 10
    assert "[tls] must be a table" in result.stderr


def test_batch_results_give_a_reason_for_every_unanswered_row_and_a_readable_summary(tmp_path: Path) -> None:
    subjects = [SubjectRequest("x", f"C{i}") for i in range(4)]
    outcomes = [
        CheckOutcome(hit(), None),
        CheckOutcome(no_answer(CheckStatus.REFUSED, Coverage(0, 0, 0, 0)), None),
        CheckOutcome(no_answer(CheckStatus.INSUFFICIENT_COVERAGE, Coverage(4, 2, 2, 3)), None),
        CheckOutcome(no_answer(CheckStatus.REFUSED, Coverage(0, 0, 0, 0)), None),
    ]

    write_results(tmp_path / "out.csv", subjects, outcomes)
    with (tmp_path / "out.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))

    assert [r["status"] for r in rows] == ["hit", "refused", "insufficient_coverage", "refused"]
    assert rows[0]["reason"] == ""
    assert "no valid consent" in rows[1]["reason"]
    assert rows[2]["reason"] == "only 2 of 4 other members answered"
    assert summary(outcomes) == "4 subjects screened: 2 refused, 1 hit, 1 insufficient coverage"


def test_json_prints_counts_as_numbers_and_ranges_as_text() -> None:
    shown = json.loads(json.dumps(_as_dict(CheckOutcome(hit(), hit()))))

    assert shown["coverage"] == {"members_asked": 4, "members_answered": 3, "attempts": 1}
    assert shown["consortium"]["members_answered"] == 3
    assert shown["consortium"]["lenders_outstanding_none"] == 0
    assert shown["consortium"]["institutions_holding"] == "2-3"


def test_version() -> None:
    result = CliRunner().invoke(app, ["--version"])

    assert result.exit_code == 0
    assert result.output.strip() == f"credgate {__version__}"

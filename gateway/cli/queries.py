"""``credgate tokenise`` and ``credgate check``: a member's subject checks, single or batched."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from gateway.aggregation import MIN_ANSWERING_MEMBERS
from gateway.clock import system_clock
from gateway.config import Settings
from gateway.errors import ImportFileError, InsufficientCoverage, InvalidInputError
from gateway.node.book_tokens import tokenise_book
from gateway.node.session import member_session
from gateway.queries.subject_check.answer import CheckStatus, SubjectCheckAnswer
from gateway.queries.subject_check.messages import Coverage
from gateway.queries.subject_check.querier import CheckOutcome, SubjectRequest
from gateway.store.enums import ReasonCode

ConfigOption = Annotated[Path, typer.Option("--config", envvar="CREDGATE_CONFIG", help="Node TOML file.")]
_console = Console(width=140)


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=_console,
    )


def tokenise(config: ConfigOption) -> None:
    """Tokenise every borrower of this member's book through the bureau's blind OPRF."""
    settings = Settings.from_file(config)
    with member_session(settings) as session, _progress() as progress:
        task = progress.add_task("tokenising", total=None)
        epoch, written = tokenise_book(
            session.store,
            session.tokeniser,
            now=system_clock(),
            on_progress=lambda done: progress.advance(task, done),
        )
    _console.print(f"{written} borrowers tokenised under key epoch {epoch}")


def check(
    config: ConfigOption,
    reason: Annotated[ReasonCode, typer.Option(help="Purpose of the query (closed set).")],
    national_id: Annotated[
        str | None, typer.Option("--national-id", help="One subject's resident ID.")
    ] = None,
    consent_ref: Annotated[str | None, typer.Option("--consent-ref", help="The subject's consent.")] = None,
    batch: Annotated[Path | None, typer.Option(help="CSV with columns national_id, consent_ref.")] = None,
    out: Annotated[Path | None, typer.Option(help="Batch results (CSV of bucketed answers).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object per subject.")] = False,
) -> None:
    """Ask the consortium about one subject (or a portfolio) without revealing the subject."""
    settings = Settings.from_file(config)
    subjects = _subjects(national_id, consent_ref, batch)
    with member_session(settings) as session:
        client = session.subject_checks()
        if batch is None:
            outcomes = [client.check_one(subjects[0], reason)]
        else:
            with _progress() as progress:
                task = progress.add_task("screening", total=len(subjects))
                outcomes = client.check_many(
                    subjects, reason, on_progress=lambda n: progress.advance(task, n)
                )
    if batch is not None:
        destination = out or batch.with_name(batch.stem + ".results.csv")
        write_results(destination, subjects, outcomes)
        _console.print(f"{summary(outcomes)}; results in {escape(str(destination))}", highlight=False)
    elif as_json:
        _console.print_json(json.dumps(_as_dict(outcomes[0])))
    else:
        _show(outcomes[0])
    _fail_on_insufficient_coverage(outcomes)


def _fail_on_insufficient_coverage(outcomes: list[CheckOutcome]) -> None:
    """Insufficient coverage has its own exit code, for one check and for any row of a batch."""
    short = [o for o in outcomes if o.answer.status is CheckStatus.INSUFFICIENT_COVERAGE]
    if short:
        raise InsufficientCoverage(
            f"{len(short)} of {len(outcomes)} subjects: {coverage_sentence(short[0].answer.coverage)}"
        )


def coverage_sentence(coverage: Coverage) -> str:
    """The coverage worded against the consortium's size and the minimum (issue #17 item 11)."""
    consortium = max(coverage.consortium_members, coverage.members_asked)
    return (
        f"{coverage.members_answered} of the consortium's {consortium} other members answered "
        f"({coverage.members_asked} online, {coverage.attempts} attempt(s)); "
        f"at least {MIN_ANSWERING_MEMBERS} must answer"
    )


def _subjects(national_id: str | None, consent_ref: str | None, batch: Path | None) -> list[SubjectRequest]:
    if batch is not None:
        if national_id is not None:
            raise InvalidInputError("give either --national-id or --batch", field="batch")
        return _read_batch(batch)
    if national_id is None or consent_ref is None:
        raise InvalidInputError("a single check needs --national-id and --consent-ref", field="national_id")
    return [SubjectRequest(national_id, consent_ref)]


def _read_batch(path: Path) -> list[SubjectRequest]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            missing = {"national_id", "consent_ref"} - set(reader.fieldnames or [])
            if missing:
                raise ImportFileError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
            return [SubjectRequest(row["national_id"], row["consent_ref"]) for row in reader]
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportFileError(f"cannot read batch file {path}: {exc}") from exc


_STATUS_WORDS = {
    CheckStatus.HIT: "hit",
    CheckStatus.NO_MATCH: "no match",
    CheckStatus.REFUSED: "refused",
    CheckStatus.INSUFFICIENT_INPUT: "invalid ID",
    CheckStatus.INSUFFICIENT_COVERAGE: "insufficient coverage",
    CheckStatus.ERROR: "error",
}


def reason_for(answer: SubjectCheckAnswer) -> str:
    """Why a subject got no figures, in words (empty for a hit or no match)."""
    coverage = answer.coverage
    return {
        CheckStatus.REFUSED: "not sent: no valid consent for this reason (or, for an agency, no entrustment)",
        CheckStatus.INSUFFICIENT_INPUT: "not sent: not a valid resident ID",
        CheckStatus.INSUFFICIENT_COVERAGE: (
            f"only {coverage.members_answered} of {coverage.members_asked} other members answered"
        ),
        CheckStatus.ERROR: "this node's store no longer holds the round's seed; retry tomorrow",
    }.get(answer.status, "")


def summary(outcomes: list[CheckOutcome]) -> str:
    """``"120 subjects screened: 80 no match, 30 hit, 10 refused"`` (most frequent first)."""
    counts = Counter(outcome.answer.status for outcome in outcomes)
    parts = [f"{count} {_STATUS_WORDS[status]}" for status, count in counts.most_common()]
    return f"{len(outcomes)} subjects screened: {', '.join(parts) or 'none'}"


def write_results(path: Path, subjects: list[SubjectRequest], outcomes: list[CheckOutcome]) -> None:
    """Write one CSV row per subject: status, the reason when refused or unanswered, bucketed figures.

    No resident ID is written: rows are identified by their number and consent reference.
    """
    rows = []
    for index, (subject, outcome) in enumerate(zip(subjects, outcomes, strict=True)):
        answer = outcome.answer.as_row()
        status = answer.pop("status")
        rows.append(
            {
                "row": str(index + 1),
                "consent_ref": subject.consent_ref,
                "status": status,
                "reason": reason_for(outcome.answer),
                **answer,
            }
        )
    columns: list[str] = []
    for row in rows:
        columns += [column for column in row if column not in columns]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerows(rows)


def _as_dict(outcome: CheckOutcome) -> dict[str, object]:
    """The JSON form: counts as numbers, bucket ranges (``"2-3"``, ``"5+"``) as text."""
    coverage = outcome.answer.coverage
    result: dict[str, object] = {
        "consortium": _numbers(outcome.answer.as_row()),
        "coverage": {
            "members_asked": coverage.members_asked,
            "members_answered": coverage.members_answered,
            "attempts": coverage.attempts,
        },
    }
    if reason_for(outcome.answer):
        result["reason"] = reason_for(outcome.answer)
    if outcome.own is not None:
        result["own_institution"] = _numbers(outcome.own.as_row())
    return result


def _numbers(row: dict[str, str]) -> dict[str, object]:
    return {key: int(value) if value.isdigit() else value for key, value in row.items()}


def _show(outcome: CheckOutcome) -> None:
    answer = outcome.answer
    coverage = answer.coverage
    _console.print(f"status: [bold]{answer.status.value}[/] — {escape(coverage_sentence(coverage))}")
    if reason_for(answer):
        _console.print(f"reason: {escape(reason_for(answer))}", highlight=False)
    if answer.lenders_by_outstanding:
        _console.print(_table("other institutions (bucketed counts)", answer, outcome.own))


def _table(title: str, answer: SubjectCheckAnswer, own: SubjectCheckAnswer | None) -> Table:
    table = Table("figure", "other institutions", "own institution", title=title)
    own_row = own.as_row() if own is not None else {}
    for key, value in answer.as_row().items():
        if key not in {"status", "members_answered"}:
            table.add_row(key, value, own_row.get(key, ""))
    return table


def register(app: typer.Typer) -> None:
    """Add ``tokenise`` and ``check`` to ``app``."""
    app.command("tokenise")(tokenise)
    app.command("check")(check)

"""``credgate redact``: redact PII in text lines or JSON lines read on stdin.

Plain mode reads one text per line and writes one redacted line per line. With
``--jsonl`` each line is an object with a ``text`` field; the output keeps every
other field and replaces ``text``. ``--explain`` adds what was found: in JSON
lines mode as an extra ``findings`` field (type, start, end, score, the detector
that fired and why; offsets into the *input* text, never the value); in plain mode
as one JSON line per input line on stderr, so stdout stays a clean redacted copy.
Identifier-shaped strings that fail their check are masked as ``<SUSPECT_IDENTIFIER>``
and ``why`` names the failed check.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, TextIO

import typer

from gateway.errors import InvalidInputError

if TYPE_CHECKING:
    from gateway.egress.redactor import Finding

_BATCH = 256


def _findings_json(findings: tuple[Finding, ...]) -> list[dict[str, object]]:
    return [
        {
            "type": f.entity_type,
            "start": f.start,
            "end": f.end,
            "score": round(f.score, 3),
            "detector": f.recognizer,
            "why": f.detail,
        }
        for f in findings
    ]


def _batches(stream: TextIO) -> Iterator[list[str]]:
    batch: list[str] = []
    for line in stream:
        batch.append(line.rstrip("\n").rstrip("\r"))
        if len(batch) >= _BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def redact(
    jsonl: Annotated[bool, typer.Option("--jsonl", help='Read and write JSON lines {"text": ...}.')] = False,
    explain: Annotated[
        bool,
        typer.Option(
            "--explain",
            help="Report types, offsets and the detector that fired (JSON: a findings field; text: stderr).",
        ),
    ] = False,
    structured_only: Annotated[
        bool,
        typer.Option("--structured-only", help="Identifiers only (no names or addresses, no NER model)."),
    ] = False,
) -> None:
    """Redact PII from stdin to stdout, one line at a time, with typed placeholders like <CN_MOBILE>."""
    # Imported here: Presidio pulls in spaCy and torch (about 2 s), which no other command needs.
    from gateway.egress.redactor import Redactor

    redactor = Redactor.structured_only() if structured_only else Redactor()
    out = sys.stdout
    line_number = 0
    for batch in _batches(sys.stdin):
        rows: list[dict[str, object]] = []
        texts: list[str] = []
        for line in batch:
            line_number += 1
            if not jsonl:
                texts.append(line)
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                raise InvalidInputError(
                    f"line {line_number}: expected a JSON object, got invalid JSON", field="stdin"
                ) from None
            if not isinstance(row, dict) or not isinstance(row.get("text"), str):
                raise InvalidInputError(
                    f'line {line_number}: expected an object with a string "text" field', field="stdin"
                )
            rows.append(row)
            texts.append(row["text"])
        results = redactor.redact_many(texts)
        for index, result in enumerate(results):
            if jsonl:
                row = dict(rows[index])
                row["text"] = result.text
                if explain:
                    row["findings"] = _findings_json(result.findings)
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
            else:
                out.write(result.text + "\n")
                if explain:
                    sys.stderr.write(json.dumps({"findings": _findings_json(result.findings)}) + "\n")
    out.flush()


def register(app: typer.Typer) -> None:
    """Add ``credgate redact`` to ``app``.

    Parameters
    ----------
    app
        The Typer application.

    """
    app.command("redact")(redact)

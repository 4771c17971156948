"""Screening at a node: read what the node knows about the call, screen, keep the flags here."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from gateway.conduct.screener import CallFacts, ConductFinding, ConductScreener, Transcript, Utterance
from gateway.errors import ImportFileError
from gateway.policy.contact_rules import ContactRules
from gateway.store.database import Store
from gateway.store.enums import ConductSource, ContactParty
from gateway.store.repositories.conduct import ConductRepository

__all__ = ["read_transcripts", "screen_and_keep"]


def screen_and_keep(
    store: Store, screener: ConductScreener, rules: ContactRules, transcript: Transcript, *, now: dt.datetime
) -> list[ConductFinding]:
    """Screen one transcript or note and keep its flags at this node (screened once per source).

    Raises
    ------
    NotFoundError
        When the transcript names an account this node does not hold.

    """
    repository = ConductRepository(store)
    account_id = borrower_id = None
    if transcript.account_ref is not None:
        account_id, borrower_id = repository.account(transcript.account_ref)
    facts = CallFacts()
    if borrower_id is not None and transcript.occurred_at is not None:
        local = transcript.occurred_at.astimezone(rules.zone)
        day_start = dt.datetime.combine(local.date(), dt.time(), tzinfo=rules.zone)
        facts = CallFacts(repository.connected_calls(borrower_id, day_start, transcript.occurred_at))
    findings = screener.screen(transcript, facts)
    repository.save(
        source_ref=transcript.source_ref,
        kind=transcript.kind,
        account_id=account_id,
        occurred_at=transcript.occurred_at,
        screened_at=now,
        utterances=len(transcript.utterances),
        flags=[(f.rule, f.utterance_index, f.start, f.end, f.excerpt) for f in findings],
    )
    return findings


def read_transcripts(path: Path) -> list[Transcript]:
    """Read transcripts and notes, one JSON object a line.

    Each line: ``{"ref", "kind": "transcript"|"note", "party": "debtor"|"third_party",
    "account_ref"?, "occurred_at"? (ISO with offset), "utterances": [{"speaker", "text"}]}``.

    Raises
    ------
    ImportFileError
        Naming the line that is malformed.

    """
    transcripts = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ImportFileError(f"cannot read {path}: {exc.strerror}") from exc
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            occurred = item.get("occurred_at")
            moment = dt.datetime.fromisoformat(occurred) if occurred else None
            if moment is not None and moment.tzinfo is None:
                raise ValueError("occurred_at needs its UTC offset")
            transcripts.append(
                Transcript(
                    source_ref=str(item["ref"]),
                    kind=ConductSource(item.get("kind", "transcript")),
                    party=ContactParty(item.get("party", "debtor")),
                    utterances=tuple(
                        Utterance(str(u["speaker"]), str(u["text"])) for u in item["utterances"]
                    ),
                    account_ref=item.get("account_ref"),
                    occurred_at=moment,
                )
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ImportFileError(f"{path} line {number}: {exc}") from exc
    return transcripts

"""Precision and recall of the conduct rules on a labelled set of utterances."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from gateway.conduct.screener import ConductScreener
from gateway.store.enums import ContactParty

__all__ = ["LabelledUtterance", "RuleScore", "evaluate", "read_labelled"]


@dataclass(frozen=True)
class LabelledUtterance:
    """An utterance with the rules it breaks (none for a compliant one)."""

    id: str
    text: str
    labels: frozenset[str]
    party: ContactParty


@dataclass
class RuleScore:
    """Counts for one rule; precision and recall are 1.0 when undefined (nothing to get wrong)."""

    true_positives: int = 0
    false_positives: int = 0
    false_negatives: int = 0
    misses: list[str] = field(default_factory=list)
    false_alarms: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        """Flags that were right."""
        flagged = self.true_positives + self.false_positives
        return self.true_positives / flagged if flagged else 1.0

    @property
    def recall(self) -> float:
        """Breaches that were flagged."""
        breaches = self.true_positives + self.false_negatives
        return self.true_positives / breaches if breaches else 1.0


def read_labelled(path: Path) -> list[LabelledUtterance]:
    """Read a JSON-lines set (``tests/data/conduct/*.jsonl``)."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [
        LabelledUtterance(str(r["id"]), str(r["text"]), frozenset(r["labels"]), ContactParty(r["party"]))
        for r in rows
    ]


def evaluate(
    screener: ConductScreener, utterances: Iterable[LabelledUtterance], rules: Iterable[str]
) -> dict[str, RuleScore]:
    """Score every rule: an utterance counts once per rule, flagged or not."""
    scores = {rule: RuleScore() for rule in rules}
    for utterance in utterances:
        flagged = {f.rule for f in screener.screen_text(utterance.text, party=utterance.party)}
        for rule, score in scores.items():
            if rule in flagged and rule in utterance.labels:
                score.true_positives += 1
            elif rule in flagged:
                score.false_positives += 1
                score.false_alarms.append(utterance.id)
            elif rule in utterance.labels:
                score.false_negatives += 1
                score.misses.append(utterance.id)
    return scores

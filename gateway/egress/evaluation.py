"""Per-entity precision and recall of a redactor on labelled JSONL sentences.

Matching rules (documented in ``docs/egress.md``): a gold entity is *recalled*
when findings of the same type cover at least :data:`COVER` of its characters
(all of them for structured identifiers); a finding is a *true positive* when at
least half of its characters lie inside gold entities of its type. ``leak``
recall counts a gold entity as hidden when findings of *any* type cover it,
which is what matters for redaction.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gateway.egress.corpus import KEPT_TYPES, OTHER_TYPES, PII_TYPES, Sentence
from gateway.egress.redactor import Finding
from gateway.egress.registry import NER_ENTITIES

COVER = {"CN_PERSON": 0.8, "CN_ADDRESS": 0.8}


@dataclass(frozen=True, slots=True)
class Example:
    """A labelled sentence: text and gold (type, start, end) spans."""

    text: str
    gold: tuple[tuple[str, int, int], ...]


@dataclass
class Score:
    """Counts for one entity type."""

    gold: int = 0
    recalled: int = 0
    hidden: int = 0
    predicted: int = 0
    correct: int = 0
    misses: list[str] = field(default_factory=list)
    false_positives: list[str] = field(default_factory=list)

    @property
    def recall(self) -> float:
        """Type-aware recall (1.0 when there is no gold entity)."""
        return self.recalled / self.gold if self.gold else 1.0

    @property
    def precision(self) -> float:
        """Precision (1.0 when nothing was predicted)."""
        return self.correct / self.predicted if self.predicted else 1.0

    @property
    def leak_recall(self) -> float:
        """Share of gold entities hidden by a finding of any type."""
        return self.hidden / self.gold if self.gold else 1.0


def load(path: Path) -> list[Example]:
    """Read labelled JSONL (``text`` and ``entities`` with ``type``/``start``/``end``).

    Parameters
    ----------
    path
        The file.

    Returns
    -------
    list[Example]
        The examples.

    """
    examples = []
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        gold = tuple((str(e["type"]), int(e["start"]), int(e["end"])) for e in row["entities"])
        examples.append(Example(str(row["text"]), gold))
    return examples


def _covered(start: int, end: int, spans: Sequence[tuple[int, int]]) -> float:
    chars = set(range(start, end))
    hit = {i for s, e in spans for i in range(s, e)}
    return len(chars & hit) / max(1, len(chars))


def evaluate(
    examples: Sequence[Example], analyze_many: Callable[[Sequence[str]], list[tuple[Finding, ...]]]
) -> dict[str, Score]:
    """Return per-entity scores of ``analyze_many`` on ``examples``.

    Parameters
    ----------
    examples
        Labelled sentences.
    analyze_many
        For example :meth:`gateway.egress.redactor.Redactor.analyze_many`.

    Returns
    -------
    dict[str, Score]
        Scores by entity type.

    """
    scores: dict[str, Score] = {}
    predictions = analyze_many([example.text for example in examples])
    for example, findings in zip(examples, predictions, strict=True):
        every = [(f.start, f.end) for f in findings]
        for kind, start, end in example.gold:
            score = scores.setdefault(kind, Score())
            score.gold += 1
            same = [(f.start, f.end) for f in findings if f.entity_type == kind]
            need = COVER.get(kind, 1.0) if kind in NER_ENTITIES else 1.0
            if _covered(start, end, same) >= need - 1e-9:
                score.recalled += 1
            else:
                score.misses.append(example.text[start:end])
            if _covered(start, end, every) >= need - 1e-9:
                score.hidden += 1
        for finding in findings:
            score = scores.setdefault(finding.entity_type, Score())
            score.predicted += 1
            gold = [(s, e) for k, s, e in example.gold if k == finding.entity_type]
            if _covered(finding.start, finding.end, gold) >= 0.5:
                score.correct += 1
            else:
                score.false_positives.append(example.text[finding.start : finding.end])
    return scores


def markdown_table(scores: dict[str, Score]) -> str:
    """Render scores as a markdown table.

    Parameters
    ----------
    scores
        From :func:`evaluate`.

    Returns
    -------
    str
        The table.

    """
    lines = [
        "| entity | gold | predicted | precision | recall | hidden by any type |",
        "|---|---|---|---|---|---|",
    ]
    for kind in sorted(scores):
        s = scores[kind]
        lines.append(
            f"| {kind} | {s.gold} | {s.predicted} | {s.precision:.3f} | {s.recall:.3f} "
            f"| {s.leak_recall:.3f} |"
        )
    return "\n".join(lines)


@dataclass
class TypeHiding:
    """Gold spans of one corpus type and how many were hidden whole or kept whole."""

    gold: int = 0
    hidden: int = 0
    kept: int = 0
    misses: list[str] = field(default_factory=list)

    @property
    def recall(self) -> float:
        """Share of spans none of whose characters survives (1.0 without spans)."""
        return self.hidden / self.gold if self.gold else 1.0

    @property
    def kept_rate(self) -> float:
        """Share of spans all of whose characters survive (1.0 without spans)."""
        return self.kept / self.gold if self.gold else 1.0


@dataclass
class RealTextScores:
    """Hiding scores on real text: per type, plus over-redaction of non-PII characters."""

    sentences: int = 0
    by_type: dict[str, TypeHiding] = field(default_factory=dict)
    other_chars: int = 0
    other_masked: int = 0

    @property
    def over_redaction(self) -> float:
        """Share of characters outside name and address spans that were masked."""
        return self.other_masked / self.other_chars if self.other_chars else 0.0

    def kept_rate(self, types: Sequence[str]) -> float:
        """Share of spans of ``types`` that survive whole."""
        gold = sum(self.by_type[t].gold for t in types if t in self.by_type)
        kept = sum(self.by_type[t].kept for t in types if t in self.by_type)
        return kept / gold if gold else 1.0


def hiding(
    sentences: Sequence[Sentence], analyze_many: Callable[[Sequence[str]], list[tuple[Finding, ...]]]
) -> RealTextScores:
    """Measure what a redactor hides in labelled real text.

    A span of a personal type (name, address) counts as hidden when none of its characters
    survives, whatever type the covering findings have; a span of any other type counts as
    kept when all of its characters survive. Over-redaction is the share of characters outside
    every personal span that were masked.

    Parameters
    ----------
    sentences
        Labelled sentences (:mod:`gateway.egress.corpus`).
    analyze_many
        For example :meth:`gateway.egress.redactor.Redactor.analyze_many`.

    Returns
    -------
    RealTextScores
        The scores.

    """
    scores = RealTextScores(sentences=len(sentences))
    predictions = analyze_many([sentence.text for sentence in sentences])
    for sentence, findings in zip(sentences, predictions, strict=True):
        masked = {i for f in findings for i in range(f.start, f.end)}
        personal = {i for kind, s, e in sentence.spans if kind in PII_TYPES for i in range(s, e)}
        for kind, start, end in sentence.spans:
            score = scores.by_type.setdefault(kind, TypeHiding())
            chars = set(range(start, end))
            score.gold += 1
            if chars <= masked:
                score.hidden += 1
            elif kind in PII_TYPES:
                score.misses.append(sentence.text[start:end])
            if not chars & masked:
                score.kept += 1
        others = set(range(len(sentence.text))) - personal
        scores.other_chars += len(others)
        scores.other_masked += len(others & masked)
    return scores


def hiding_table(scores: RealTextScores) -> str:
    """Render :func:`hiding` scores as a markdown table (one row per corpus type).

    Parameters
    ----------
    scores
        From :func:`hiding`.

    Returns
    -------
    str
        The table, then the over-redaction line.

    """
    lines = [
        "| type | personal? | spans | hidden whole (recall) | kept whole |",
        "|---|---|---|---|---|",
    ]
    order = [t for t in (*PII_TYPES, *KEPT_TYPES, *OTHER_TYPES) if t in scores.by_type]
    for kind in order:
        s = scores.by_type[kind]
        personal = "yes" if kind in PII_TYPES else "no"
        lines.append(f"| {kind} | {personal} | {s.gold} | {s.recall:.3f} | {s.kept_rate:.3f} |")
    lines.append(
        f"\nOver-redaction: {scores.other_masked:,} of {scores.other_chars:,} characters outside "
        f"names and addresses masked ({scores.over_redaction:.2%}); organisations and titles "
        f"({', '.join(KEPT_TYPES)}) kept whole: {scores.kept_rate(KEPT_TYPES):.3f}."
    )
    return "\n".join(lines)

"""Quality floors on real text: the 1,500 held-aside CLUENER2020 sentences (never trained or tuned on).

Inference is deterministic (fixed ONNX weights, CPU, and a padded batch gives each text exactly
what it gets alone), so these are plain floors, not statistics: a correct model passes every
time. Each floor sits just under the value measured when the model was shipped (see
docs/benchmarks.md, "Egress guard"); a regression of the model, the thresholds or the merging
of findings fails it. The corpus file is pinned by hash, so the held-aside part cannot drift.
"""

from __future__ import annotations

from collections import Counter

import pytest

from gateway.egress import corpus
from gateway.egress.evaluation import RealTextScores, hiding
from gateway.egress.redactor import Redactor

# Measured when the model was shipped: names 0.841 (449 of 534), addresses 0.633 (257 of 406),
# over-redaction 1.99 % (1,045 of 52,423 characters), organisations and titles kept 0.967.
# The margins (three spans each, 0.06 points) absorb float differences between CPUs, which can
# move a character across a threshold; they do not absorb a regression.
NAME_RECALL_FLOOR = 0.835
ADDRESS_RECALL_FLOOR = 0.625
OVER_REDACTION_CEILING = 0.0205
KEPT_FLOOR = 0.96


@pytest.fixture(scope="module")
def scores(redactor: Redactor) -> RealTextScores:
    aside = corpus.held_aside()
    assert len(aside) == corpus.HELD_ASIDE_SIZE
    return hiding(aside, redactor.analyze_many)


def test_names_are_hidden_whole(scores: RealTextScores) -> None:
    assert scores.by_type["name"].recall >= NAME_RECALL_FLOOR, scores.by_type["name"].misses[:20]


def test_addresses_are_hidden_whole(scores: RealTextScores) -> None:
    assert scores.by_type["address"].recall >= ADDRESS_RECALL_FLOOR, scores.by_type["address"].misses[:20]


def test_other_text_is_rarely_masked(scores: RealTextScores) -> None:
    assert scores.over_redaction <= OVER_REDACTION_CEILING


def test_organisations_and_titles_survive(scores: RealTextScores) -> None:
    assert scores.kept_rate(corpus.KEPT_TYPES) >= KEPT_FLOOR


def test_the_held_aside_part_is_disjoint_from_the_training_part() -> None:
    train, aside = corpus.split(corpus.load())

    assert len(train) + len(aside) == 10_748
    assert not {s.text for s in aside} & {s.text for s in train} - _duplicates()


def _duplicates() -> set[str]:
    # CLUENER repeats a few sentences verbatim; a repeat may fall on both sides of the split.
    counts = Counter(s.text for s in corpus.load())
    return {text for text, count in counts.items() if count > 1}

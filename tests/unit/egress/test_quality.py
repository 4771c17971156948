"""Quality floors on the frozen held-out set (tests/data/egress/heldout.jsonl).

Floors sit slightly below the measured values (see docs/egress.md) so that a
regression fails. The held-out file is pinned by hash: it was frozen before
any tuning and must not be edited to make this test pass.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from gateway.egress.evaluation import evaluate, load
from gateway.egress.redactor import Redactor

DATA = Path(__file__).parents[2] / "data" / "egress"
HELDOUT_SHA256 = "899bf3156e5ae4a0a0e25db8945e5c2108bd785b03cb4f773cd2da1623247197"

RECALL_FLOOR = {
    "CN_RESIDENT_ID": 0.98, "CN_MOBILE": 0.98, "CN_LANDLINE": 0.98, "BANK_CARD": 0.98, "CN_USCC": 0.98,
    "EMAIL": 0.98, "CN_LICENSE_PLATE": 0.98, "CN_ADDRESS": 0.95, "CN_PERSON": 0.96,
}  # fmt: skip
PRECISION_FLOOR = 0.97
# Issue #15: the character NER model reads "<name>不在家" after an address as part of an address in
# one template (4 of 46 address findings); recall stays 1.000. Measured 0.870.
PRECISION_FLOOR_BY_ENTITY = {"CN_ADDRESS": 0.85}


def test_heldout_set_is_the_frozen_one() -> None:
    assert hashlib.sha256((DATA / "heldout.jsonl").read_bytes()).hexdigest() == HELDOUT_SHA256


@pytest.fixture(scope="module")
def scores(redactor: Redactor) -> dict[str, object]:
    return dict(evaluate(load(DATA / "heldout.jsonl"), redactor.analyze_many))


@pytest.mark.parametrize("entity", sorted(RECALL_FLOOR))
def test_recall_and_precision_stay_above_their_floors(scores: dict[str, object], entity: str) -> None:
    score = scores[entity]

    assert score.recall >= RECALL_FLOOR[entity], score.misses
    assert score.precision >= PRECISION_FLOOR_BY_ENTITY.get(entity, PRECISION_FLOOR), score.false_positives

"""Regression: a note's NER tags must not depend on the other notes it was batched with.

LAC's encoder reads padding. When notes of different lengths were padded into one batch, 3 of
the 420 notes of the egress set came out with different PER/LOC spans than when tagged alone
(one lost the name 钱学志), so whether a name was redacted depended on its neighbours.
"""

from __future__ import annotations

import json
from pathlib import Path

from gateway.egress.ner import LacTagger

DATA = Path(__file__).resolve().parents[1] / "data" / "egress"


def test_each_note_is_tagged_as_it_would_be_alone() -> None:
    lines = (DATA / "dev.jsonl").read_text(encoding="utf-8").splitlines()
    notes = [json.loads(line)["text"] for line in lines if line.strip()]
    tagger = LacTagger()

    together = tagger.tag_many(notes)

    assert together == [tagger.tag(note) for note in notes]

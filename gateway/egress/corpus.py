"""The real-text corpus (CLUENER2020) and its fixed held-aside part.

``data/cluener2020/train.json`` holds 10,748 real Chinese sentences with spans of ten types.
Names and addresses are personal data; the other eight types (organisations, companies,
governments, positions, scenes, books, games, movies) are not and must survive redaction.

:func:`split` draws the held-aside part (1,500 sentences, seed :data:`HELD_ASIDE_SEED`) once
and for all: detectors are trained and tuned on the rest only, and quality is reported on it.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from pathlib import Path

from gateway.errors import InvalidInputError

CORPUS = Path(__file__).resolve().parents[2] / "data" / "cluener2020" / "train.json"
CORPUS_SHA256 = "b7e9f0802e86943c8af76f8375ae5ed00f15703484092e81579f241db4d0664a"
HELD_ASIDE_SIZE = 1500
# Fixed when the corpus was added (issue #15), before any detector was trained or tuned.
HELD_ASIDE_SEED = 15_2020
PII_TYPES = ("name", "address")
KEPT_TYPES = ("organization", "company", "government", "position", "book", "game", "movie")
OTHER_TYPES = ("scene",)
TYPES = PII_TYPES + KEPT_TYPES + OTHER_TYPES


@dataclass(frozen=True, slots=True)
class Sentence:
    """One labelled sentence.

    Attributes
    ----------
    text
        The sentence.
    spans
        ``(type, start, end)`` with ``end`` exclusive, sorted by start.

    """

    text: str
    spans: tuple[tuple[str, int, int], ...]


def load(path: Path = CORPUS) -> list[Sentence]:
    """Read CLUENER JSON lines (``{"text", "label": {type: {span: [[start, end], ...]}}}``, end inclusive).

    Parameters
    ----------
    path
        The file; the shipped corpus by default.

    Returns
    -------
    list[Sentence]
        The sentences in file order.

    Raises
    ------
    InvalidInputError
        When a line is not an object of that shape or a span does not match its text.

    """
    sentences = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        row = json.loads(line)
        text = row.get("text") if isinstance(row, dict) else None
        labels = row.get("label", {}) if isinstance(row, dict) else None
        if not isinstance(text, str) or not isinstance(labels, dict):
            raise InvalidInputError(f"line {number}: expected text and label", field="corpus")
        spans = []
        for kind, values in labels.items():
            if kind not in TYPES or not isinstance(values, dict):
                raise InvalidInputError(
                    f"line {number}: expected a type among {TYPES}, got {kind}", field="label"
                )
            for value, offsets in values.items():
                for start, end in offsets:
                    if text[start : end + 1] != value:
                        raise InvalidInputError(
                            f"line {number}: span {start}-{end} is not {value!r}", field="label"
                        )
                    spans.append((str(kind), int(start), int(end) + 1))
        sentences.append(Sentence(text, tuple(sorted(spans, key=lambda s: (s[1], s[2])))))
    return sentences


def split(sentences: list[Sentence]) -> tuple[list[Sentence], list[Sentence]]:
    """Return (training part, held-aside part): :data:`HELD_ASIDE_SIZE` sentences drawn with a fixed seed.

    Parameters
    ----------
    sentences
        The whole corpus in file order.

    Returns
    -------
    tuple[list[Sentence], list[Sentence]]
        Both parts, each in file order.

    """
    held = set(random.Random(HELD_ASIDE_SEED).sample(range(len(sentences)), HELD_ASIDE_SIZE))
    train = [s for i, s in enumerate(sentences) if i not in held]
    aside = [s for i, s in enumerate(sentences) if i in held]
    return train, aside


def held_aside(path: Path = CORPUS) -> list[Sentence]:
    """Return the held-aside part of the shipped corpus, after checking the file's hash.

    Parameters
    ----------
    path
        The corpus file.

    Returns
    -------
    list[Sentence]
        The 1,500 held-aside sentences.

    Raises
    ------
    InvalidInputError
        When the file is not the pinned corpus.

    """
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != CORPUS_SHA256:
        raise InvalidInputError(f"expected corpus sha256 {CORPUS_SHA256}, got {digest}", field="corpus")
    return split(load(path))[1]

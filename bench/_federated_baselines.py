"""Centralised and member-alone baselines for bench/federated.py (same MLP, same training code)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from federated.features.sources import csv_rows, load_table
from federated.features.spec import FeatureSpec
from federated.features.splits import split_book
from federated.features.table import stratified_split
from federated.metrics import local_sums, quality
from federated.models import Normaliser, initial_weights, predict
from federated.settings import RunSettings
from federated.training import train_locally

Matrix = npt.NDArray[np.float32]
Labels = npt.NDArray[np.int64]


@dataclass
class Split:
    members: list[tuple[Matrix, Labels]]  # each member's training rows (its held-out 20 % removed)
    test_inputs: Matrix
    test_labels: Labels


def load_split(csv: str, spec: FeatureSpec, members: int, *, seed: int) -> Split:
    import datetime as dt
    from pathlib import Path

    # The UCI book has no empty cell, so no imputation is needed; LIMIT_BAL rank as before.
    split = split_book(csv_rows(Path(csv), spec), target=spec.target, by="LIMIT_BAL", parts=members)
    as_of = dt.date(2025, 1, 1)
    parts = []
    for rows in split.members:
        member = load_table(rows, spec, as_of=as_of)
        rest, _ = stratified_split(member.labels, fraction=0.2, seed=seed)
        parts.append((member.matrix(spec, {})[rest], member.labels[rest]))
    test = load_table(split.test, spec, as_of=as_of)
    return Split(parts, test.matrix(spec, {}), test.labels)


def auc_ks(scores: npt.NDArray[np.float64], labels: Labels) -> tuple[float, float]:
    from sklearn.metrics import roc_auc_score, roc_curve  # type: ignore[import-untyped]  # no stubs

    fpr, tpr, _ = roc_curve(labels, scores)
    return float(roc_auc_score(labels, scores)), float(np.max(tpr - fpr))


def train_and_score(
    settings: RunSettings, spec: FeatureSpec, inputs: Matrix, labels: Labels, split: Split
) -> tuple[float, float]:
    normaliser = Normaliser(
        inputs.mean(axis=0).astype(np.float64), inputs.std(axis=0, ddof=1).astype(np.float64)
    )
    start = initial_weights(settings.model, spec.width, hidden=settings.hidden, seed=settings.seed)
    trained = train_locally(settings, start, normaliser.apply(inputs), labels, round_number=1)
    scores = predict(
        settings.model, trained.weights, normaliser.apply(split.test_inputs), hidden=settings.hidden
    )
    return auc_ks(scores, split.test_labels)


def score_weights(
    model: dict[str, object], split: Split, settings: RunSettings
) -> tuple[float, float, float]:
    normaliser = Normaliser(np.asarray(model["mean"]), np.asarray(model["std"]))
    scores = predict(
        settings.model,
        np.asarray(model["weights"]),
        normaliser.apply(split.test_inputs),
        hidden=settings.hidden,
    )
    auc, ks = auc_ks(scores, split.test_labels)
    return auc, ks, quality(local_sums(scores, split.test_labels)).auc

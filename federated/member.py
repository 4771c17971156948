"""What a member computes for each phase; pure functions of its own data and the server's instructions.

The member's rows come from its own store (node config ``store-url``) or, for tests
and benchmarks, from the UCI CSV (``features-csv``, ``partition-id``,
``num-partitions``). A seeded, stratified share (``holdout-fraction``) of the rows is
held out for federated evaluation; the rest is used for the normalisation
statistics and training. Per-member quality is logged here and never sent.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from federated.errors import RunConfigError
from federated.features.spec import FeatureSpec, load_spec
from federated.features.table import RawTable, stratified_split
from federated.metrics import local_sums, quality
from federated.models import Normaliser, predict
from federated.protocol import EPSILON_SCALE, SCALE, Phase, check_range
from federated.settings import RunSettings, UserConfigValue
from federated.training import train_locally

__all__ = ["MemberData", "compute", "load_member_data", "source_key"]

logger = logging.getLogger(__name__)
FloatArray = npt.NDArray[np.float64]
SourceKey = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class MemberData:
    """A member's rows as model inputs (unnormalised), split into training and held-out rows."""

    spec: FeatureSpec
    train_inputs: npt.NDArray[np.float32]
    train_labels: npt.NDArray[np.int64]
    holdout_inputs: npt.NDArray[np.float32]
    holdout_labels: npt.NDArray[np.int64]


def source_key(node_config: Mapping[str, UserConfigValue]) -> SourceKey:
    """Return the node-config entries naming the member's data, as a hashable key."""
    keys = ("store-url", "features-csv", "partition-id", "num-partitions")
    return tuple((k, str(node_config[k])) for k in keys if k in node_config)


def load_member_data(node_config: Mapping[str, UserConfigValue], settings: RunSettings) -> MemberData:
    """Load (once per process) the member's rows named by the node config.

    Raises
    ------
    RunConfigError
        When the node config names no data source or a malformed one.

    """
    return _load(
        source_key(node_config),
        str(settings.feature_spec),
        settings.reference_date().isoformat(),
        settings.holdout_fraction,
        settings.seed,
    )


_LOAD_LOCK = threading.Lock()


def _load(key: SourceKey, spec_path: str, as_of: str, holdout: float, seed: int) -> MemberData:
    # One load per member and settings, even when several threads ask at once.
    with _LOAD_LOCK:
        return _load_cached(key, spec_path, as_of, holdout, seed)


@functools.lru_cache(maxsize=8)
def _load_cached(key: SourceKey, spec_path: str, as_of: str, holdout: float, seed: int) -> MemberData:
    import datetime as dt

    config = dict(key)
    spec = load_spec(Path(spec_path))
    table: RawTable
    if "store-url" in config:
        from federated.features.store_source import load_store_table, open_member_store

        store = open_member_store(config["store-url"])
        try:
            table = load_store_table(store, as_of=dt.date.fromisoformat(as_of))
        finally:
            store.close()
    elif "features-csv" in config:
        from federated.features.csv_source import load_csv_table, partition

        try:
            part, parts = int(config["partition-id"]), int(config["num-partitions"])
        except (KeyError, ValueError):
            raise RunConfigError(
                "partition-id: features-csv needs integer partition-id and num-partitions"
            ) from None
        if not 0 <= part < parts:
            raise RunConfigError(f"partition-id: expected 0 <= id < {parts}, received {part}")
        table = partition(
            load_csv_table(Path(config["features-csv"])), partition_id=part, num_partitions=parts
        )
    else:
        raise RunConfigError("store-url: the node config names no data source (store-url or features-csv)")
    if len(table) < 10:
        raise RunConfigError("store-url: the member holds fewer than 10 rows; it cannot take part")
    rest, held = stratified_split(table.labels, fraction=holdout, seed=seed)
    inputs = table.matrix(spec)
    return MemberData(spec, inputs[rest], table.labels[rest], inputs[held], table.labels[held])


def compute(
    phase: Phase, data: MemberData, settings: RunSettings, arrays: list[FloatArray], *, round_number: int
) -> FloatArray:
    """Return this member's (scaled, range-checked) vector for ``phase``.

    Parameters
    ----------
    phase
        What the server asked for.
    data
        The member's rows.
    settings
        Run settings.
    arrays
        The server's arrays: ``[mean]`` for ``stats-var``, ``[weights, mean, std]``
        for ``train`` and ``evaluate``, nothing for ``stats-mean``.
    round_number
        1-based training round (``train``/``evaluate``).

    Raises
    ------
    federated.errors.SecAggRangeError
        When a value would be clipped by SecAgg+.

    """
    x, n = data.train_inputs.astype(np.float64), float(data.train_labels.size)
    if phase is Phase.STATS_MEAN:
        vector = np.concatenate([[n], x.sum(axis=0)]) / SCALE
    elif phase is Phase.STATS_VAR:
        vector = ((x - arrays[0]) ** 2).sum(axis=0) / SCALE
    elif phase is Phase.TRAIN:
        weights, normaliser = arrays[0], Normaliser(arrays[1], arrays[2])
        result = train_locally(
            settings,
            weights,
            normaliser.apply(data.train_inputs),
            data.train_labels,
            round_number=round_number,
        )
        vector = np.concatenate(
            [n * (result.weights - weights) / SCALE, [n / SCALE, result.epsilon / EPSILON_SCALE]]
        )
        logger.info("round %s: local training done (ε spent %.3f)", round_number, result.epsilon)
    else:
        weights, normaliser = arrays[0], Normaliser(arrays[1], arrays[2])
        scores = predict(
            settings.model, weights, normaliser.apply(data.holdout_inputs), hidden=settings.hidden
        )
        sums = local_sums(scores, data.holdout_labels)
        own = quality(sums)
        # Kept at the member: its own quality is logged locally and never sent.
        logger.info(
            "round %s: local held-out AUC %.4f KS %.4f Brier %.4f on %s rows",
            round_number,
            own.auc,
            own.ks,
            own.brier,
            own.rows,
        )
        vector = sums.to_vector() / SCALE
    return check_range(np.asarray(vector, dtype=np.float64), phase=phase)

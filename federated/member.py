"""What a member computes for each phase; pure functions of its own data and the server's instructions.

The member's rows come from its own store (node config ``store-url``: the
``model_rows`` imported by ``credgate import features``, or, with ``features-table``,
a table of its own in that database) or, for tests and benchmarks, from a CSV file
(``features-csv``, optionally cut with ``partition-by``, ``partition-id`` and
``num-partitions``; see :mod:`federated.features.splits`). Every source is read
through the run's feature spec. A seeded, stratified share (``holdout-fraction``) of
the rows is held out for federated evaluation; the rest is used for the statistics
and training. Per-member quality is logged here and never sent.

Server arrays by phase (the first is always the agreed imputation, one value per
spec feature, NaN where the feature imputes nothing):

``profile``     ``[]``
``stats-mean``  ``[imputation]``
``stats-var``   ``[imputation, mean]``
``train``       ``[imputation, weights, mean, std]``
``evaluate``    ``[imputation, weights, mean, std]`` (lr, mlp) or ``[imputation, ensemble]`` (gbt)
``tree-level``  ``[imputation, edges, edge counts, ensemble, tree, [level, evaluate]]`` (``evaluate``
               1: also the held-out sums of ``ensemble``, the trees so far)
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from federated.errors import FederatedError, RunConfigError
from federated.features.encoding import continuous_values
from federated.features.sources import Rows, csv_rows, load_table, own_table_rows, store_rows
from federated.features.spec import FeatureSpec, load_spec
from federated.features.table import RawTable, stratified_split
from federated.metrics import local_sums, quality
from federated.models import Normaliser, predict
from federated.protocol import EPSILON_SCALE, HIST_SCALE, SCALE, Phase, check_range
from federated.releases import release_keys
from federated.settings import RunSettings, UserConfigValue
from federated.sketch import sketch_for
from federated.trees import Ensemble, bin_inputs, level_histograms, route

__all__ = [
    "MemberData", "compute", "imputation_map", "load_member_data", "read_source", "releases_of", "source_key",
]  # fmt: skip
_TREE_LEVEL_ARRAYS = (
    "tree-level: expected imputation, edges, edge counts, ensemble, tree and [level, evaluate]"
)

logger = logging.getLogger(__name__)
FloatArray = npt.NDArray[np.float64]
SourceKey = tuple[tuple[str, str], ...]
_SOURCE_KEYS = (
    "store-url",
    "features-table",
    "features-csv",
    "partition-by",
    "partition-id",
    "num-partitions",
)


@dataclass
class MemberData:
    """A member's rows (read, not yet encoded), split into training and held-out rows."""

    spec: FeatureSpec
    train: RawTable
    holdout: RawTable
    _encoded: dict[tuple[bytes, bool], npt.NDArray[np.float32]] = field(default_factory=dict, repr=False)
    _binned: dict[bytes, npt.NDArray[np.int64]] = field(default_factory=dict, repr=False)
    _margins: tuple[bytes, int, FloatArray] | None = field(default=None, repr=False)

    def binned(
        self, imputation: FloatArray, flat_edges: FloatArray, edges: list[FloatArray]
    ) -> npt.NDArray[np.int64]:
        """The training rows' bins under ``edges`` (cached: the edges are fixed for a run)."""
        key = np.asarray(imputation).tobytes() + np.asarray(flat_edges).tobytes()
        if key not in self._binned:
            self._binned.clear()
            self._binned[key] = bin_inputs(self.inputs(imputation), edges)
        return self._binned[key]

    def margins(self, imputation: FloatArray, ensemble: Ensemble) -> FloatArray:
        """The training rows' log-odds; only trees added since the last call are applied."""
        x = self.inputs(imputation)
        cached = self._margins
        start, margins = 0, np.full(x.shape[0], ensemble.base)
        if cached is not None and cached[1] <= len(ensemble.trees):
            prefix = ensemble.trees[: cached[1]]
            if (
                cached[0]
                == np.asarray(imputation).tobytes() + np.float64(ensemble.base).tobytes() + prefix.tobytes()
            ):
                start, margins = cached[1], cached[2].copy()
        for tree in ensemble.trees[start:]:
            margins += tree[2][route(tree, x)]
        key = (
            np.asarray(imputation).tobytes() + np.float64(ensemble.base).tobytes() + ensemble.trees.tobytes()
        )
        self._margins = (key, len(ensemble.trees), margins)
        return margins

    def inputs(self, imputation: FloatArray, *, holdout: bool = False) -> npt.NDArray[np.float32]:
        """The encoded rows under the agreed ``imputation`` (cached per imputation)."""
        key = (np.asarray(imputation, dtype=np.float64).tobytes(), holdout)
        if key not in self._encoded:
            table = self.holdout if holdout else self.train
            self._encoded[key] = table.matrix(self.spec, imputation_map(self.spec, imputation))
        return self._encoded[key]


def imputation_map(spec: FeatureSpec, imputation: FloatArray) -> dict[str, float]:
    """Column → agreed value, from the vector the server sends (NaN = no value)."""
    return {
        f.column: float(v)
        for f, v in zip(spec.features, np.asarray(imputation), strict=True)
        if not np.isnan(v)
    }


def source_key(node_config: Mapping[str, UserConfigValue]) -> SourceKey:
    """Return the node-config entries naming the member's data, as a hashable key."""
    return tuple((k, str(node_config[k])) for k in _SOURCE_KEYS if k in node_config)


def load_member_data(node_config: Mapping[str, UserConfigValue], settings: RunSettings) -> MemberData:
    """Load (once per process) the member's rows named by the node config.

    Raises
    ------
    RunConfigError
        When the node config names no data source or a malformed one.
    federated.errors.FeatureSpecError
        When the source lacks a spec column or a cell is refused (naming column and row).

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


def read_source(config: Mapping[str, str], spec: FeatureSpec) -> Rows:
    """The rows of the source the (node) config names.

    Raises
    ------
    RunConfigError
        When the config names no source or a malformed partition.

    """
    if "store-url" in config:
        from federated.features.store_access import open_member_store

        store = open_member_store(config["store-url"])
        try:
            table = config.get("features-table")
            return own_table_rows(store, table, spec) if table else store_rows(store, spec)
        finally:
            store.close()
    if "features-csv" in config:
        rows = csv_rows(Path(config["features-csv"]), spec)
        if "partition-id" not in config and "num-partitions" not in config:
            return rows
        from federated.features.splits import RANDOM, split_book

        try:
            part, parts = int(config["partition-id"]), int(config["num-partitions"])
        except (KeyError, ValueError):
            raise RunConfigError(
                "partition-id: a partition needs integer partition-id and num-partitions"
            ) from None
        if not 0 <= part < parts:
            raise RunConfigError(f"partition-id: expected 0 <= id < {parts}, received {part}")
        split = split_book(rows, target=spec.target, by=config.get("partition-by", RANDOM), parts=parts)
        return split.members[part]
    raise RunConfigError("store-url: the node config names no data source (store-url or features-csv)")


@functools.lru_cache(maxsize=8)
def _load_cached(key: SourceKey, spec_path: str, as_of: str, holdout: float, seed: int) -> MemberData:
    spec = load_spec(Path(spec_path))
    table = load_table(read_source(dict(key), spec), spec, as_of=dt.date.fromisoformat(as_of))
    if len(table) < 10:
        raise RunConfigError("store-url: the member holds fewer than 10 rows; it cannot take part")
    rest, held = stratified_split(table.labels, fraction=holdout, seed=seed)
    logger.info("member data: %s rows (%s held out) read through spec %s", len(table), held.size, spec.name)
    return MemberData(spec, table.take(rest), table.take(held))


def releases_of(
    phase: Phase, settings: RunSettings, arrays: list[FloatArray], *, round_number: int
) -> list[str]:
    """The release keys (:mod:`federated.releases`) of a request.

    Its phase, round and level, and, when it scores a model, the model (its round for
    lr/mlp, its number of trees for gbt).

    Raises
    ------
    ReleaseRefused
        When the request lies outside the run's plan.
    FederatedError
        When a tree-level request's arrays do not fit.

    """
    if phase is Phase.EVALUATE:
        return release_keys(phase, settings, round_number=round_number, evaluates=round_number)
    if phase is not Phase.TREE_LEVEL:
        return release_keys(phase, settings, round_number=round_number)
    if len(arrays) != 6 or arrays[5].size != 2:
        raise FederatedError(_TREE_LEVEL_ARRAYS)
    try:
        trees = len(Ensemble.from_vector(arrays[3], settings.tree_params).trees)
    except ValueError as exc:
        raise FederatedError(f"tree-level: {exc}") from None
    level, evaluate = int(arrays[5][0]), bool(arrays[5][1])
    return release_keys(
        phase, settings, round_number=round_number, level=level, evaluates=trees if evaluate else None
    )


def compute(
    phase: Phase,
    data: MemberData,
    settings: RunSettings,
    arrays: list[FloatArray],
    *,
    round_number: int,
    honest_members: int,
) -> FloatArray:
    """Return this member's (scaled, range-checked) vector for ``phase``.

    ``honest_members`` is the member's own ``[secagg] min_members``: its share of a DP
    run's noise is sized so that that many shares carry the full noise (the run config's
    ``min-members`` is the bureau's choice and is not trusted for this).

    Raises
    ------
    federated.errors.SecAggRangeError
        When a value would be clipped by SecAgg+.
    FederatedError
        When the server's arrays do not fit the phase.

    """
    n = float(len(data.train))
    if phase is Phase.PROFILE:
        vector = _private(settings, data, phase, _profile(data), honest_members)
    elif len(arrays) < 1:
        raise FederatedError(f"{phase.value}: the server sent no imputation vector")
    elif phase is Phase.STATS_MEAN:
        x = data.inputs(arrays[0]).astype(np.float64)
        vector = np.concatenate([[n], x.sum(axis=0)])
    elif phase is Phase.STATS_VAR:
        x = data.inputs(arrays[0]).astype(np.float64)
        vector = ((x - arrays[1]) ** 2).sum(axis=0)
    elif phase is Phase.TRAIN:
        vector = _train(data, settings, arrays, round_number)
    elif phase is Phase.TREE_LEVEL:
        return _tree_level(data, settings, arrays, round_number, honest_members)
    else:
        vector = _evaluate(data, settings, arrays, round_number)
    return check_range(np.asarray(vector, dtype=np.float64) / phase.scale, phase=phase)


def _private(
    settings: RunSettings, data: MemberData, phase: Phase, vector: FloatArray, honest_members: int
) -> FloatArray:
    """Add this member's share of the distributed noise to a tree run's profile and histograms."""
    if settings.model != "gbt" or settings.dp_epsilon <= 0 or phase not in (Phase.PROFILE, Phase.TREE_LEVEL):
        return vector
    from federated.tree_privacy import noise_share

    return vector + noise_share(settings, data.spec, vector.size, honest_members=honest_members)


def _profile(data: MemberData) -> FloatArray:
    parts: list[FloatArray] = [np.array([float(len(data.train)), float(data.train.labels.sum())])]
    for feature in data.spec.features:
        if not feature.continuous:
            continue
        values = continuous_values(feature, data.train.columns[feature.column])
        observed = values[~np.isnan(values)]
        parts.append(np.array([float(observed.size), float(observed.sum())]))
        parts.append(sketch_for(feature.clip is not None).counts(observed))
    return np.concatenate(parts)


def _train(
    data: MemberData, settings: RunSettings, arrays: list[FloatArray], round_number: int
) -> FloatArray:
    from federated.training import train_locally

    weights, normaliser = arrays[1], Normaliser(arrays[2], arrays[3])
    n = float(len(data.train))
    result = train_locally(
        settings,
        weights,
        normaliser.apply(data.inputs(arrays[0])),
        data.train.labels,
        round_number=round_number,
    )
    logger.info("round %s: local training done (ε spent %.3f)", round_number, result.epsilon)
    # The ε entry is divided by EPSILON_SCALE here and multiplied back by SCALE: see protocol.
    return np.concatenate(
        [n * (result.weights - weights), [n, result.epsilon / EPSILON_SCALE * Phase.TRAIN.scale]]
    )


def _tree_level(
    data: MemberData, settings: RunSettings, arrays: list[FloatArray], round_number: int, honest_members: int
) -> FloatArray:
    """Histograms of one level (``/ HIST_SCALE``), then, when asked, the held-out sums (``/ SCALE``).

    The server asks for the evaluation of the ensemble it sends (the trees so far) together
    with the first level of the next tree, which depends on nothing else: one aggregation
    instead of two.
    """
    params = settings.tree_params
    if len(arrays) != 6 or arrays[5].size != 2:
        raise FederatedError(_TREE_LEVEL_ARRAYS)
    edges = split_edges(arrays[1], arrays[2])
    x = data.inputs(arrays[0])
    ensemble = Ensemble.from_vector(arrays[3], params)
    tree = np.asarray(arrays[4], dtype=np.float64).reshape(3, params.nodes)
    level, evaluate = int(arrays[5][0]), bool(arrays[5][1])
    p = 1.0 / (1.0 + np.exp(-data.margins(arrays[0], ensemble)))
    y = data.train.labels.astype(np.float64)
    histograms = level_histograms(
        data.binned(arrays[0], arrays[1], edges),
        route(tree, x),
        p - y,
        p * (1.0 - p),
        level=level,
        bins=params.bins,
    )
    private = _private(settings, data, Phase.TREE_LEVEL, histograms, honest_members)
    scaled = check_range(private / HIST_SCALE, phase=Phase.TREE_LEVEL)
    if not evaluate:
        return scaled
    sums = _evaluate(data, settings, [arrays[0], arrays[3]], len(ensemble.trees))
    return np.concatenate([scaled, check_range(sums / SCALE, phase=Phase.EVALUATE)])


def split_edges(flat: FloatArray, counts: FloatArray) -> list[FloatArray]:
    """Unflatten per-input bin edges (``counts[i]`` edges of input ``i``, concatenated)."""
    bounds = np.concatenate([[0], np.cumsum(np.asarray(counts, dtype=np.int64))])
    return [np.asarray(flat[bounds[i] : bounds[i + 1]], dtype=np.float64) for i in range(len(counts))]


def _evaluate(
    data: MemberData, settings: RunSettings, arrays: list[FloatArray], round_number: int
) -> FloatArray:
    x = data.inputs(arrays[0], holdout=True)
    if settings.model == "gbt":
        scores = Ensemble.from_vector(arrays[1], settings.tree_params).probabilities(x)
    else:
        normaliser = Normaliser(arrays[2], arrays[3])
        scores = predict(settings.model, arrays[1], normaliser.apply(x), hidden=settings.hidden)
    sums = local_sums(scores, data.holdout.labels)
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
    return sums.to_vector()

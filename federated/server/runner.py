"""The ServerApp's main loop: agree normalisation, train for the planned rounds, evaluate, publish.

Every exchange is a masked TRAIN phase (see :mod:`federated.protocol`):

1. ``profile`` — row count, base rate, per number/date column its observed count, sum and
   quantile sketch: the agreed imputation and (trees) the bin edges;
2. ``lr``/``mlp``: ``stats-mean`` then ``stats-var`` (normalisation), ``evaluate`` on the initial
   model (round 0), then per round ``train`` (FedAvg/FedProx from the masked Σ n·Δ and Σ n)
   and ``evaluate``;
3. ``gbt``: per round one tree, one ``tree-level`` histogram sum per level
   (:mod:`federated.trees`); every ``eval-every`` trees the held-out sums of the ensemble
   ride on the next tree's first level (the initial model's on the first tree's), and
   only the last tree's evaluation is an ``evaluate`` aggregation of its own.

Progress is logged and rewritten to ``<output-dir>/results.json`` after every round, so
a supervisor can show it; at the end the model is written (signed when the run config
names the bureau's key and certificate) with its model card.
"""

from __future__ import annotations

import logging
import time

import numpy as np
from flwr.app import Context
from flwr.server import LegacyContext, ServerConfig, SimpleClientManager
from flwr.server.compat.grid_client_proxy import GridClientProxy
from flwr.serverapp.grid import Grid

from federated.errors import FederatedRunError
from federated.features.spec import FeatureSpec, load_spec
from federated.metrics import EvalSums, Quality, quality
from federated.models import initial_weights
from federated.protocol import EPSILON_SCALE, Phase, sums_from_mean
from federated.server.aggregation import PhaseRunner
from federated.server.profile import Profile
from federated.server.results import RunResult
from federated.server.strategy import PhaseStrategy
from federated.server.watched_grid import WatchedGrid
from federated.settings import RunSettings
from federated.trees import Ensemble, empty_tree, grow_level

__all__ = ["run_federation"]

logger = logging.getLogger(__name__)
_REGISTRATION_POLL = 0.5


def run_federation(grid: Grid, context: Context, *, registration_timeout: float = 60.0) -> RunResult:
    """Run a whole federated training run on ``grid`` and return (and write) its results.

    Raises
    ------
    FederatedRunError
        When fewer than ``min-members`` members register or answer a phase.
    federated.errors.RunConfigError
        When the run config is malformed.

    """
    settings = RunSettings.from_run_config(context.run_config)
    spec = load_spec(settings.feature_spec)
    grid = WatchedGrid(grid)
    legacy = LegacyContext(context, config=ServerConfig(num_rounds=settings.rounds), strategy=PhaseStrategy())
    RunResult.start(settings, spec, 0).enter(f"waiting for at least {settings.min_members} members")
    members = _register(grid, legacy, settings.min_members, registration_timeout)
    logger.info("run %s: %s members registered; secagg=%s", context.run_id, members, settings.secagg)
    runner = PhaseRunner(
        grid,
        legacy,
        secagg=settings.secagg,
        min_members=settings.min_members,
        timeout=settings.secagg_timeout,
    )
    result = RunResult.start(settings, spec, members)
    try:
        _train(runner, result, settings, spec)
    except Exception as exc:
        # Leave a results file that says so; the exception still fails the run.
        result.fail(exc)
        raise
    return result


def _train(runner: PhaseRunner, result: RunResult, settings: RunSettings, spec: FeatureSpec) -> None:
    started = time.perf_counter()
    result.enter(f"{result.members} members connected; agreeing on the feature profile")
    first = runner.run(Phase.PROFILE, [])
    profile = Profile.from_sums(sums_from_mean(first.mean, first.members), spec)
    result.set_profile(profile)
    if settings.model == "gbt":
        final = _train_trees(runner, result, settings, spec, profile)
    else:
        final = _train_network(runner, result, settings, spec, profile)
    result.finish(
        final, elapsed=time.perf_counter() - started, phase_seconds=runner.seconds, timing=runner.timing()
    )


def _train_network(
    runner: PhaseRunner, result: RunResult, settings: RunSettings, spec: FeatureSpec, profile: Profile
) -> np.ndarray:
    imputation = profile.imputation
    result.enter("agreeing on feature normalisation")
    first = runner.run(Phase.STATS_MEAN, [imputation])
    sums = sums_from_mean(first.mean, first.members)
    rows = float(sums[0])
    mean = sums[1:] / rows
    second = runner.run(Phase.STATS_VAR, [imputation, mean])
    std = np.sqrt(np.maximum(sums_from_mean(second.mean, second.members) / max(rows - 1.0, 1.0), 0.0))
    result.set_normaliser(mean, std, rows=round(rows))

    def evaluate(model: np.ndarray, number: int) -> Quality:
        return _evaluate(runner, [imputation, model, mean, std], number)

    weights = initial_weights(settings.model, spec.width, hidden=settings.hidden, seed=settings.seed)
    result.enter("evaluating the initial model")
    result.add_round(0, evaluate(weights, 0), epsilon=0.0, members=first.members, seconds=0.0)
    for round_number in range(1, settings.rounds + 1):
        round_started = time.perf_counter()
        result.enter(f"training round {round_number} of {settings.rounds}")
        update = runner.run(Phase.TRAIN, [imputation, weights, mean, std], round_number=round_number)
        totals = sums_from_mean(update.mean[:-1], update.members)
        if totals[-1] <= 0:
            raise FederatedRunError(f"round {round_number}: the aggregate holds no training rows")
        # FedAvg: the example-weighted mean update, scaled by the server learning rate.
        weights = weights + settings.server_learning_rate * totals[:-1] / totals[-1]
        epsilon = float(update.mean[-1] * EPSILON_SCALE)
        if round_number % settings.evaluation_interval == 0 or round_number == settings.rounds:
            measured = evaluate(weights, round_number)
            seconds = time.perf_counter() - round_started
            _log_round(result, settings, round_number, measured, update.members, epsilon, seconds=seconds)
    return weights


def _train_trees(
    runner: PhaseRunner, result: RunResult, settings: RunSettings, spec: FeatureSpec, profile: Profile
) -> np.ndarray:
    params = settings.tree_params
    imputation = profile.imputation
    edges = profile.bin_edges(spec, params.bins)
    edge_counts = np.asarray([e.size for e in edges], dtype=np.float64)
    flat_edges = np.concatenate(edges) if edges else np.zeros(0)
    result.set_normaliser(np.zeros(spec.width), np.ones(spec.width), rows=round(profile.rows))
    ensemble = Ensemble(profile.base_margin, np.zeros((0, 3, params.nodes)))
    # An evaluation owed (round number, seconds the round took): it rides on the next tree's
    # first level, which needs nothing but the same ensemble; only the last one goes alone.
    owed: tuple[int, float] | None = (0, 0.0)
    members = result.members
    for round_number in range(1, settings.rounds + 1):
        round_started = time.perf_counter()
        result.enter(f"growing tree {round_number} of {settings.rounds}")
        tree = empty_tree(params)
        for level in range(params.depth):
            evaluate = level == 0 and owed is not None
            arrays = [
                imputation,
                flat_edges,
                edge_counts,
                ensemble.to_vector(),
                tree.reshape(-1),
                np.array([level, float(evaluate)]),
            ]
            aggregate = runner.run(Phase.TREE_LEVEL, arrays, round_number=round_number)
            members = aggregate.members
            cells = 2 * 2**level * len(edges) * params.bins
            sums = sums_from_mean(aggregate.mean[:cells], members, scale=Phase.TREE_LEVEL.scale)
            if evaluate and owed is not None:
                measured = quality(EvalSums.from_vector(sums_from_mean(aggregate.mean[cells:], members)))
                _log_round(result, settings, owed[0], measured, members, _tree_epsilon(settings, owed[0]),
                           seconds=owed[1])  # fmt: skip
                owed = None
            tree = grow_level(tree, sums, edges, params, level=level)
        ensemble = Ensemble(ensemble.base, np.concatenate([ensemble.trees, tree[None]]))
        if round_number % settings.evaluation_interval == 0 or round_number == settings.rounds:
            owed = (round_number, time.perf_counter() - round_started)
    if owed is not None:
        result.enter("evaluating the final model")
        measured = _evaluate(runner, [imputation, ensemble.to_vector()], owed[0])
        _log_round(result, settings, owed[0], measured, members, _tree_epsilon(settings, owed[0]),
                   seconds=owed[1])  # fmt: skip
    return ensemble.to_vector()


def _tree_epsilon(settings: RunSettings, round_number: int) -> float:
    return settings.dp_epsilon * round_number / settings.rounds if settings.dp_epsilon > 0 else 0.0


def _log_round(
    result: RunResult,
    settings: RunSettings,
    round_number: int,
    measured: Quality,
    members: int,
    epsilon: float,
    *,
    seconds: float,
) -> None:
    result.add_round(round_number, measured, epsilon=epsilon, members=members, seconds=seconds)
    logger.info(
        "round %s/%s: AUC %.4f KS %.4f Brier %.4f (%s members, mean ε %.3f, %.1fs)",
        round_number,
        settings.rounds,
        measured.auc,
        measured.ks,
        measured.brier,
        members,
        epsilon,
        seconds,
    )
    result.write_progress()


def _evaluate(runner: PhaseRunner, arrays: list[np.ndarray], round_number: int) -> Quality:
    aggregate = runner.run(Phase.EVALUATE, arrays, round_number=round_number)
    return quality(EvalSums.from_vector(sums_from_mean(aggregate.mean, aggregate.members)))


def _register(grid: Grid, context: LegacyContext, minimum: int, timeout: float) -> int:
    # Registering proxies ourselves (instead of flwr's polling thread, which sleeps 5 s
    # between polls) lets a run start as soon as enough members are connected.
    manager = context.client_manager
    if not isinstance(manager, SimpleClientManager):
        raise TypeError("expected flwr's SimpleClientManager")
    deadline = time.monotonic() + timeout
    while True:
        known = set(manager.all())
        for node_id in grid.get_node_ids():
            if str(node_id) not in known:
                manager.register(GridClientProxy(node_id=node_id, grid=grid, run_id=grid.run.run_id))
        count = manager.num_available()
        if count >= minimum:
            return count
        if time.monotonic() > deadline:
            raise FederatedRunError(
                f"expected at least {minimum} members, {count} connected in {timeout:.0f}s"
            )
        time.sleep(_REGISTRATION_POLL)

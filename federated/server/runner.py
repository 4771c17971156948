"""The ServerApp's main loop: agree normalisation, train for the planned rounds, evaluate, publish.

Every exchange is a masked TRAIN phase (see :mod:`federated.protocol`):

1. ``stats-mean`` then ``stats-var`` — federated means and variances of the inputs;
2. ``evaluate`` on the initial model (round 0);
3. per round: ``train`` (FedAvg/FedProx update from the masked Σ n·Δ and Σ n), then ``evaluate``.

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
from federated.features.spec import load_spec
from federated.metrics import EvalSums, Quality, quality
from federated.models import initial_weights
from federated.protocol import EPSILON_SCALE, Phase, sums_from_mean
from federated.server.aggregation import PhaseRunner
from federated.server.results import RunResult
from federated.server.strategy import PhaseStrategy
from federated.settings import RunSettings

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
        _train(runner, result, settings, spec.width)
    except Exception:
        # Leave a results file that says so; the exception still fails the run.
        result.write_progress("failed")
        raise
    return result


def _train(runner: PhaseRunner, result: RunResult, settings: RunSettings, width: int) -> None:
    started = time.perf_counter()

    result.enter(f"{result.members} members connected; agreeing on feature normalisation")
    first = runner.run(Phase.STATS_MEAN, [])
    sums = sums_from_mean(first.mean, first.members)
    rows = float(sums[0])
    mean = sums[1:] / rows
    second = runner.run(Phase.STATS_VAR, [mean])
    std = np.sqrt(np.maximum(sums_from_mean(second.mean, second.members) / max(rows - 1.0, 1.0), 0.0))
    result.set_normaliser(mean, std, rows=round(rows))

    weights = initial_weights(settings.model, width, hidden=settings.hidden, seed=settings.seed)
    result.enter("evaluating the initial model")
    result.add_round(
        0, _evaluate(runner, weights, mean, std, 0), epsilon=0.0, members=first.members, seconds=0.0
    )
    for round_number in range(1, settings.rounds + 1):
        round_started = time.perf_counter()
        result.enter(f"training round {round_number} of {settings.rounds}")
        update = runner.run(Phase.TRAIN, [weights, mean, std], round_number=round_number)
        totals = sums_from_mean(update.mean[:-1], update.members)
        if totals[-1] <= 0:
            raise FederatedRunError(f"round {round_number}: the aggregate holds no training rows")
        # FedAvg: the example-weighted mean update, scaled by the server learning rate.
        weights = weights + settings.server_learning_rate * totals[:-1] / totals[-1]
        epsilon = float(update.mean[-1] * EPSILON_SCALE)
        seconds = time.perf_counter() - round_started
        measured = _evaluate(runner, weights, mean, std, round_number)
        result.add_round(round_number, measured, epsilon=epsilon, members=update.members, seconds=seconds)
        logger.info(
            "round %s/%s: AUC %.4f KS %.4f Brier %.4f (%s members, mean ε %.3f, %.1fs)",
            round_number,
            settings.rounds,
            measured.auc,
            measured.ks,
            measured.brier,
            update.members,
            epsilon,
            seconds,
        )
        result.write_progress()
    result.finish(weights, elapsed=time.perf_counter() - started, phase_seconds=runner.seconds)


def _evaluate(
    runner: PhaseRunner, weights: np.ndarray, mean: np.ndarray, std: np.ndarray, round_number: int
) -> Quality:
    aggregate = runner.run(Phase.EVALUATE, [weights, mean, std], round_number=round_number)
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

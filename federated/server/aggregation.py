"""Run one phase across the members: through SecAgg+ (default) or, for benchmarks only, in clear.

SecAgg+ aggregations run through :class:`~federated.server.pipeline.SecAggPipeline`: the
next aggregation's key stages share this one's messages, two exchanges per aggregation.

Both paths hand :class:`~federated.server.strategy.PhaseStrategy` the element-wise
mean of the members' vectors. The plain path exists to measure SecAgg+'s cost; it
sends each member's vector in clear, so members refuse it unless their node config
sets ``allow-plain`` (see :mod:`federated.secagg_gate`).
"""

from __future__ import annotations

import logging
import statistics
import time

import flwr.compat.common.recorddict_compat as compat
import numpy as np
from flwr.app import ArrayRecord, ConfigRecord, Message
from flwr.app.message_type import MessageType
from flwr.common import ndarrays_to_parameters, parameters_to_ndarrays
from flwr.server.compat.legacy_context import LegacyContext
from flwr.server.workflow.constant import MAIN_CONFIGS_RECORD, MAIN_PARAMS_RECORD
from flwr.server.workflow.constant import Key as WorkflowKey
from flwr.serverapp.grid import Grid

from federated.errors import FederatedRunError
from federated.protocol import Phase
from federated.server.pipeline import SecAggPipeline
from federated.server.strategy import Aggregate, PhaseStrategy
from federated.server.watched_grid import MemberFailure, WatchedGrid

__all__ = ["PhaseFailed", "PhaseRunner"]


class PhaseFailed(FederatedRunError):
    """Too few members contributed to a phase; carries the failures members reported."""

    def __init__(self, message: str, *, failures: list[MemberFailure]) -> None:
        super().__init__(message)
        self.failures = failures


def _unique(failures: list[MemberFailure]) -> list[MemberFailure]:
    return list(dict.fromkeys(failures))


logger = logging.getLogger(__name__)


class PhaseRunner:
    """Runs phases on a grid and returns their aggregates.

    Parameters
    ----------
    grid
        The Flower grid (SuperLink runtime API, or :class:`federated.inprocess.InProcessGrid`).
    context
        The legacy context holding :class:`PhaseStrategy` and the client manager.
    secagg
        Aggregate with SecAgg+ (default) or in clear.
    min_members
        Fewer answering members fails the phase.
    timeout
        Seconds to wait for replies at each SecAgg+ stage.

    """

    def __init__(
        self, grid: Grid, context: LegacyContext, *, secagg: bool, min_members: int, timeout: float
    ) -> None:
        if not isinstance(context.strategy, PhaseStrategy):
            raise TypeError("the legacy context must hold a PhaseStrategy")
        self.grid, self.context, self.strategy = grid, context, context.strategy
        self.failures: list[MemberFailure] = grid.failures if isinstance(grid, WatchedGrid) else []
        self.secagg, self.min_members, self.timeout = secagg, min_members, timeout
        self.step = 0
        self.seconds: dict[str, float] = {}
        self.counts: dict[str, int] = {}
        context.state.array_records[MAIN_PARAMS_RECORD] = ArrayRecord()
        context.state.config_records[MAIN_CONFIGS_RECORD] = ConfigRecord()
        self.pipeline = SecAggPipeline(grid, context, timeout=timeout)

    def run(self, phase: Phase, arrays: list[np.ndarray], *, round_number: int = 0) -> Aggregate:
        """Run ``phase`` and return the mean of the members' vectors.

        Raises
        ------
        FederatedRunError
            When fewer than ``min_members`` members contributed.

        """
        self.step += 1
        self.context.state.config_records[MAIN_CONFIGS_RECORD][WorkflowKey.CURRENT_ROUND] = self.step
        self.strategy.instruct(phase, list(arrays), round_number=round_number)
        failed_before = len(self.failures)
        started = time.perf_counter()
        if self.secagg:
            self.pipeline.aggregate()
        else:
            self._plain()
        self.seconds[phase.value] = self.seconds.get(phase.value, 0.0) + time.perf_counter() - started
        self.counts[phase.value] = self.counts.get(phase.value, 0) + 1
        aggregate = self.strategy.aggregate
        if aggregate is None or aggregate.members < self.min_members:
            got = 0 if aggregate is None else aggregate.members
            failures = self.failures[failed_before:]
            raise PhaseFailed(
                f"phase {phase.value}: expected at least {self.min_members} members, {got} contributed"
                + "".join(f"; {failure}" for failure in _unique(failures)),
                failures=_unique(failures),
            )
        logger.info("phase %s: aggregated %s members", phase.value, aggregate.members)
        return aggregate

    def timing(self) -> dict[str, object]:
        """Aggregations per phase, and the medians of the message exchanges' parts (results.json)."""
        exchanges = self.grid.exchanges if isinstance(self.grid, WatchedGrid) else []

        def median(values: list[float]) -> float | None:
            return round(statistics.median(values), 3) if values else None

        return {
            "aggregations": dict(self.counts),
            "exchanges": len(exchanges),
            "exchange_seconds_median": median([e.last for e in exchanges]),
            "push_seconds_median": median([e.pushed for e in exchanges]),
            "first_reply_seconds_median": median([e.first for e in exchanges]),
        }

    def _plain(self) -> None:
        proxies = self.strategy.configure_fit(
            self.step, ndarrays_to_parameters([]), self.context.client_manager
        )
        messages = [
            Message(
                content=compat.fitins_to_recorddict(fitins, True),
                dst_node_id=proxy.node_id,
                message_type=MessageType.TRAIN,
                group_id=str(self.step),
            )
            for proxy, fitins in proxies
        ]
        replies = [m for m in self.grid.send_and_receive(messages, timeout=self.timeout) if not m.has_error()]
        by_node = {proxy.node_id: proxy for proxy, _ in proxies}
        results = []
        vectors = []
        for reply in replies:
            fitres = compat.recorddict_to_fitres(reply.content, keep_input=True)
            vectors.append(parameters_to_ndarrays(fitres.parameters)[0])
            results.append((by_node[reply.metadata.src_node_id], fitres))
        if not vectors:
            return
        mean = ndarrays_to_parameters([np.mean(np.stack(vectors), axis=0)])
        for _, fitres in results:
            fitres.parameters = mean
        self.strategy.aggregate_fit(self.step, results, [])

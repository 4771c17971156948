"""SecAgg+ aggregations two exchanges apart: the next instance's keys ride on this one's data.

Flower's :class:`~flwr.server.workflow.SecAggPlusWorkflow` runs its four stages in a row.
Its first two (``setup``: members send public keys; ``share_keys``: they send encrypted
key shares) carry no data, so :class:`SecAggPipeline` keeps one instance *prepared*
(those two stages done) at all times. An aggregation takes the prepared instance, gives
it the phase's instructions and runs its ``collect_masked_vectors`` and ``unmask``
stages, while the next instance runs ``setup`` and ``share_keys`` in the same messages
(:mod:`federated.lanes`, :mod:`federated.server.mux`), each lane relaying the members' signed
keys (:mod:`federated.server.key_relay`). The first aggregation of a run
prepares its instance alone; every aggregation after it costs two exchanges, not four.

Every instance is a complete, independent SecAgg+ run of Flower's own stage methods:
fresh keys, shares and masks, its own dropout handling and threshold checks. An
instance's members are those available when it was prepared; one that leaves before the
collection is handled as SecAgg+ handles any dropout.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from typing import TypeVar

import flwr.compat.common.recorddict_compat as compat
from flwr.server.compat.legacy_context import LegacyContext
from flwr.server.workflow import SecAggPlusWorkflow
from flwr.server.workflow.secure_aggregation.secaggplus_workflow import WorkflowState
from flwr.serverapp.grid import Grid

from federated.protocol import CLIPPING_RANGE, MODULUS_RANGE, QUANTIZATION_RANGE, RECONSTRUCTION_THRESHOLD
from federated.server.key_relay import KeyBindingRelay
from federated.server.mux import Mux
from federated.server.strategy import PhaseStrategy

__all__ = ["SecAggPipeline"]

T = TypeVar("T")


class SecAggPipeline:
    """Runs one SecAgg+ aggregation per :meth:`aggregate`, the next one's key stages alongside."""

    def __init__(self, grid: Grid, context: LegacyContext, *, timeout: float) -> None:
        if not isinstance(context.strategy, PhaseStrategy):
            raise TypeError("the legacy context must hold a PhaseStrategy")
        self.context, self.strategy = context, context.strategy
        self.mux = Mux(grid)
        self.workflow = SecAggPlusWorkflow(
            num_shares=1.0,
            reconstruction_threshold=RECONSTRUCTION_THRESHOLD,
            max_weight=1.0,
            clipping_range=CLIPPING_RANGE,
            quantization_range=QUANTIZATION_RANGE,
            modulus_range=MODULUS_RANGE,
            timeout=timeout,
        )
        self._lanes = itertools.count(1)
        #: The prepared instance and its lane (members keep its SecAgg+ state under that lane).
        self._prepared: tuple[int, WorkflowState] | None = None

    def aggregate(self) -> None:
        """Aggregate the strategy's current instructions; the result is in ``strategy.aggregate``."""
        prepared, self._prepared = self._prepared, None
        if prepared is None:
            lane = next(self._lanes)
            state = self._in_lanes({lane: self._prepare})[lane]
            if state is None:
                return  # Too few members for SecAgg+: the caller reports the missing aggregate.
            prepared = lane, state
        lane, current = prepared
        following = next(self._lanes)
        results = self._in_lanes({lane: lambda grid: self._finish(current, grid), following: self._prepare})
        state = results[following]
        self._prepared = None if state is None else (following, state)

    def _prepare(self, grid: Grid) -> WorkflowState | None:
        state = WorkflowState()
        ready = self.workflow.setup_stage(grid, self.context, state) and self.workflow.share_keys_stage(
            grid, self.context, state
        )
        return state if ready else None

    def _finish(self, state: WorkflowState, grid: Grid) -> None:
        # The instance was set up with whatever instructions were current then; these are the real ones.
        state.nid_to_fitins = {
            node: compat.fitins_to_recorddict(self.strategy.fit_ins(), True) for node in state.nid_to_fitins
        }
        if self.workflow.collect_masked_vectors_stage(grid, self.context, state):
            self.workflow.unmask_stage(grid, self.context, state)

    def _in_lanes(self, jobs: dict[int, Callable[[Grid], T | None]]) -> dict[int, T | None]:
        """Run each job in a thread on its lane; return their results by lane (re-raising a failure)."""
        self.mux.open(jobs)
        results: dict[int, T | None] = {}
        errors: list[BaseException] = []

        def run(lane: int, job: Callable[[Grid], T | None]) -> None:
            try:
                results[lane] = job(KeyBindingRelay(self.mux, lane))
            except BaseException as exc:
                errors.append(exc)
            finally:
                self.mux.close(lane)

        threads = [
            threading.Thread(target=run, args=(lane, job), name=f"secagg-lane-{lane}", daemon=True)
            for lane, job in jobs.items()
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]
        return {lane: results.get(lane) for lane in jobs}

"""A legacy Flower ``Strategy`` that carries one phase's instructions and captures its sum.

SecAgg+ in flwr 1.41 works only through the legacy strategy API: the workflow asks
``configure_fit`` for each member's instructions and hands ``aggregate_fit`` the
unmasked aggregate (every result's parameters are replaced by it). This strategy
does no aggregation of its own: the run loop sets the instructions, runs the
workflow and reads :attr:`PhaseStrategy.aggregate`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from flwr.common import (
    EvaluateIns,
    EvaluateRes,
    FitIns,
    FitRes,
    Parameters,
    Scalar,
    ndarrays_to_parameters,
    parameters_to_ndarrays,
)
from flwr.server.client_manager import ClientManager
from flwr.server.client_proxy import ClientProxy
from flwr.server.strategy import Strategy

from federated.protocol import Phase, pack

__all__ = ["Aggregate", "PhaseStrategy"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Aggregate:
    """What the server learns from one phase: the mean vector over ``members`` members."""

    mean: FloatArray
    members: int


class PhaseStrategy(Strategy):
    """Sends every available member the same phase instructions; keeps only the aggregate."""

    def __init__(self) -> None:
        self.phase = Phase.STATS_MEAN
        self.round_number = 0
        self.arrays: list[FloatArray] = []
        self.aggregate: Aggregate | None = None

    def instruct(self, phase: Phase, arrays: list[FloatArray], *, round_number: int) -> None:
        """Set the next phase's instructions and forget the previous aggregate."""
        self.phase, self.arrays, self.round_number, self.aggregate = phase, arrays, round_number, None

    def fit_ins(self) -> FitIns:
        """Return the instructions as a legacy ``FitIns``."""
        config: dict[str, Scalar] = {"phase": self.phase.value, "round": self.round_number}
        return FitIns(ndarrays_to_parameters([pack(self.arrays)]), config)

    def initialize_parameters(self, client_manager: ClientManager) -> Parameters | None:
        """Return nothing: the run loop owns the model."""
        return None

    def configure_fit(
        self, server_round: int, parameters: Parameters, client_manager: ClientManager
    ) -> list[tuple[ClientProxy, FitIns]]:
        """Instruct every available member (sorted by node id)."""
        members = sorted(client_manager.all().values(), key=lambda proxy: proxy.node_id)
        return [(proxy, self.fit_ins()) for proxy in members]

    def aggregate_fit(
        self,
        server_round: int,
        results: list[tuple[ClientProxy, FitRes]],
        failures: list[tuple[ClientProxy, FitRes] | BaseException],
    ) -> tuple[Parameters | None, dict[str, Scalar]]:
        """Capture the aggregate (identical in every result after SecAgg+ unmasking)."""
        if results:
            vector = parameters_to_ndarrays(results[0][1].parameters)[0]
            self.aggregate = Aggregate(np.asarray(vector, dtype=np.float64), len(results))
        return None, {}

    def configure_evaluate(
        self, server_round: int, parameters: Parameters, client_manager: ClientManager
    ) -> list[tuple[ClientProxy, EvaluateIns]]:
        """Never evaluate through EVALUATE messages: evaluation is a masked TRAIN phase."""
        return []

    def aggregate_evaluate(
        self,
        server_round: int,
        results: list[tuple[ClientProxy, EvaluateRes]],
        failures: list[tuple[ClientProxy, EvaluateRes] | BaseException],
    ) -> tuple[float | None, dict[str, Scalar]]:
        """Nothing to aggregate (see :meth:`configure_evaluate`)."""
        return None, {}

    def evaluate(self, server_round: int, parameters: Parameters) -> tuple[float, dict[str, Scalar]] | None:
        """No central evaluation: the server holds no data."""
        return None

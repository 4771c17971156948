"""The ClientApp each member's SuperNode runs: ``federated.apps.client:app``.

Mods, outermost first: the lanes mod (a message may carry two SecAgg+ instances, each
answered on its own: :mod:`federated.lanes_mod`), the egress mod (every reply checked
against ``policies/egress_flower.toml`` and the node's exact-match index), then the
SecAgg+ gate. The client itself computes the phase vector (:func:`federated.member.compute`)
and replies with it as the only array, ``num_examples`` = 1 and no metrics, so the
only per-member figures sent are inside SecAgg+'s masked vector. torch and opacus are
imported only when a phase needs them.
"""

from __future__ import annotations

from flwr.app import Context
from flwr.client import Client, ClientApp, NumPyClient
from flwr.common import NDArrays, Scalar

from federated.egress_mod import egress_mod
from federated.errors import FederatedError
from federated.lanes_mod import lanes_mod
from federated.policy import member_policy
from federated.protocol import Phase, unpack
from federated.releases import record_release
from federated.secagg_gate import secagg_gate_mod
from federated.settings import RunSettings

__all__ = ["MemberClient", "app", "client_fn"]


class MemberClient(NumPyClient):
    """A member's side of every phase."""

    def __init__(self, context: Context) -> None:
        self.context = context

    def get_parameters(self, config: dict[str, Scalar]) -> NDArrays:
        """Return nothing: the server owns the model."""
        return []

    def fit(self, parameters: NDArrays, config: dict[str, Scalar]) -> tuple[NDArrays, int, dict[str, Scalar]]:
        """Compute the phase vector; ``num_examples`` is the constant 1 and metrics are empty."""
        from federated.member import compute, load_member_data, releases_of

        settings = RunSettings.from_run_config(self.context.run_config)
        try:
            phase = Phase(str(config.get("phase")))
        except ValueError:
            raise FederatedError(f"unknown phase {config.get('phase')!r}") from None
        round_number = config.get("round", 0)
        if not isinstance(round_number, int):
            raise FederatedError("round: expected an integer")
        data = load_member_data(self.context.node_config, settings)
        if len(parameters) != 1:
            raise FederatedError("expected the phase's arrays packed into one vector")
        try:
            arrays = unpack(parameters[0])
        except ValueError as exc:
            raise FederatedError(f"phase {phase.value}: {exc}") from None
        record_release(self.context, releases_of(phase, settings, arrays, round_number=round_number))
        honest = member_policy(self.context.node_config).secagg.min_members
        vector = compute(phase, data, settings, arrays, round_number=round_number, honest_members=honest)
        return [vector], 1, {}

    def evaluate(
        self, parameters: NDArrays, config: dict[str, Scalar]
    ) -> tuple[float, int, dict[str, Scalar]]:
        """Refuse: evaluation runs as a masked TRAIN phase, never in clear."""
        raise FederatedError("evaluate messages are not served; evaluation is a masked train phase")


def client_fn(context: Context) -> Client:
    """Build the member's client for one message."""
    return MemberClient(context).to_client()


app = ClientApp(client_fn=client_fn, mods=[lanes_mod, egress_mod, secagg_gate_mod])

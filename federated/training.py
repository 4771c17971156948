"""Local training at a member: SGD with an optional FedProx term and optional DP-SGD (Opacus).

Differential privacy protects each borrower record (record-level DP-SGD). The noise
multiplier is derived once from the target ε over the whole planned run
(``rounds × local-epochs`` epochs at sampling rate ``batch-size / n``) with the RDP
accountant, so every round uses the same σ and the ε spent after round ``r`` is the
accountant's value for ``r × local-epochs`` epochs; it never exceeds the target.

The FedProx term ``μ/2·‖w - g‖²`` is applied as a separate proximal step after each
optimiser step (``w ← w - lr·μ·(w - g)``), which equals adding its gradient for plain
SGD and, under DP, is post-processing of a public value ``g`` (Opacus' per-sample
clipping never sees it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from federated.models import FloatArray, build_model, flat_weights, set_weights
from federated.settings import RunSettings

__all__ = ["LocalResult", "dp_noise_multiplier", "epsilon_spent", "train_locally"]


@dataclass(frozen=True)
class LocalResult:
    """Weights after local training and the ε spent so far (0 without DP)."""

    weights: FloatArray
    epsilon: float


def dp_noise_multiplier(settings: RunSettings, rows: int) -> float:
    """Return σ reaching ``dp-epsilon`` exactly over the planned run (RDP accountant)."""
    from opacus.accountants.utils import get_noise_multiplier  # type: ignore[import-untyped]  # no stubs

    return float(
        get_noise_multiplier(
            target_epsilon=settings.dp_epsilon,
            target_delta=settings.dp_delta,
            sample_rate=min(1.0, settings.batch_size / rows),
            epochs=settings.rounds * settings.local_epochs,
            accountant="rdp",
        )
    )


def epsilon_spent(settings: RunSettings, rows: int, *, sigma: float, completed_rounds: int) -> float:
    """Return ε after ``completed_rounds`` rounds at noise ``sigma`` (RDP accountant, δ = dp-delta)."""
    from opacus.accountants import RDPAccountant  # type: ignore[import-untyped]  # no stubs

    sample_rate = min(1.0, settings.batch_size / rows)
    steps = completed_rounds * settings.local_epochs * math.ceil(1 / sample_rate)
    accountant = RDPAccountant()
    accountant.history = [(sigma, sample_rate, steps)]
    return float(accountant.get_epsilon(delta=settings.dp_delta))


def train_locally(
    settings: RunSettings,
    global_weights: FloatArray,
    inputs: npt.NDArray[np.float32],
    labels: npt.NDArray[np.int64],
    *,
    round_number: int,
) -> LocalResult:
    """Train from ``global_weights`` for ``local-epochs`` epochs on the member's rows.

    Parameters
    ----------
    settings
        The run settings (model, optimiser, FedProx and DP parameters).
    global_weights
        The weights the round started from (``g``).
    inputs, labels
        Standardised training rows and 0/1 labels.
    round_number
        1-based round, seeding the shuffle and giving the ε spent so far.

    """
    import torch

    torch.manual_seed(settings.seed * 1000 + round_number)
    model = build_model(settings.model, inputs.shape[1], hidden=settings.hidden)
    set_weights(model, global_weights)
    anchor = [p.detach().clone() for p in model.parameters()]
    optimiser = torch.optim.SGD(model.parameters(), lr=settings.learning_rate, momentum=0.9)
    dataset = torch.utils.data.TensorDataset(
        torch.as_tensor(inputs), torch.as_tensor(labels.astype(np.float32))
    )
    generator = torch.Generator().manual_seed(settings.seed * 7919 + round_number)
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=settings.batch_size, shuffle=True, generator=generator
    )
    epsilon, sigma, trained = 0.0, 0.0, model
    if settings.dp_epsilon > 0:
        from opacus import PrivacyEngine  # type: ignore[import-untyped]  # no stubs

        sigma = dp_noise_multiplier(settings, len(dataset))
        engine = PrivacyEngine(accountant="rdp", secure_mode=False)
        trained, optimiser, loader = engine.make_private(
            module=model,
            optimizer=optimiser,
            data_loader=loader,
            noise_multiplier=sigma,
            max_grad_norm=settings.dp_max_grad_norm,
            noise_generator=generator,
        )
    mu = settings.proximal_mu if settings.strategy == "fedprox" else 0.0
    loss_fn = torch.nn.BCEWithLogitsLoss()
    trained.train()
    for _ in range(settings.local_epochs):
        for batch_inputs, batch_labels in loader:
            if batch_labels.numel() == 0:
                continue  # Poisson sampling can draw an empty batch.
            optimiser.zero_grad()
            loss = loss_fn(trained(batch_inputs).squeeze(1), batch_labels)
            loss.backward()
            optimiser.step()
            if mu > 0:
                with torch.no_grad():
                    for parameter, start in zip(model.parameters(), anchor, strict=True):
                        parameter.sub_(settings.learning_rate * mu * (parameter - start))
    if settings.dp_epsilon > 0:
        epsilon = epsilon_spent(settings, len(dataset), sigma=sigma, completed_rounds=round_number)
    return LocalResult(flat_weights(model), epsilon)

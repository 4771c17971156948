"""The shared model: logistic regression, a small MLP or gradient-boosted trees, as one flat vector.

The model sees standardised inputs; the means and standard deviations agreed in the
``stats`` phases travel with the model (:class:`Normaliser`) so every member and
every scorer standardises the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    import torch

__all__ = [
    "ModelKind",
    "Normaliser",
    "build_model",
    "flat_weights",
    "initial_weights",
    "predict",
    "set_weights",
]

ModelKind = Literal["lr", "mlp", "gbt"]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Normaliser:
    """Feature means and standard deviations agreed by the federation (no raw data pooled)."""

    mean: FloatArray
    std: FloatArray

    def apply(self, matrix: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Return ``(matrix - mean) / std`` as float32 (a zero deviation counts as 1)."""
        std = np.where(self.std > 1e-12, self.std, 1.0)
        return ((matrix - self.mean) / std).astype(np.float32)

    @classmethod
    def identity(cls, width: int) -> Normaliser:
        """Return the normaliser that changes nothing."""
        return cls(np.zeros(width), np.ones(width))


def build_model(kind: ModelKind, width: int, *, hidden: int) -> torch.nn.Module:
    """Return a fresh PyTorch model mapping ``width`` inputs to one logit (``lr`` or ``mlp``).

    Raises
    ------
    ValueError
        For ``gbt``, which is no PyTorch model (see :mod:`federated.trees`).

    """
    import torch

    if kind == "gbt":
        raise ValueError("gradient-boosted trees are not a PyTorch model")
    if kind == "lr":
        return torch.nn.Sequential(torch.nn.Linear(width, 1))
    return torch.nn.Sequential(torch.nn.Linear(width, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 1))


def flat_weights(model: torch.nn.Module) -> FloatArray:
    """Return all parameters as one float64 vector."""
    import torch

    return torch.nn.utils.parameters_to_vector(model.parameters()).detach().double().numpy().copy()


def set_weights(model: torch.nn.Module, weights: FloatArray) -> None:
    """Load a flat vector into ``model``'s parameters (its length must match)."""
    import torch

    vector = torch.as_tensor(np.asarray(weights, dtype=np.float32))
    torch.nn.utils.vector_to_parameters(vector, model.parameters())


def initial_weights(kind: ModelKind, width: int, *, hidden: int, seed: int) -> FloatArray:
    """Return the seeded initial weight vector every run of the same settings starts from."""
    import torch

    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        return flat_weights(build_model(kind, width, hidden=hidden))
    finally:
        torch.random.set_rng_state(generator_state)


def predict(
    kind: ModelKind, weights: FloatArray, inputs: npt.NDArray[np.float32], *, hidden: int, depth: int = 0
) -> FloatArray:
    """Return default probabilities for already standardised ``inputs`` (``depth``: gbt trees)."""
    if kind == "gbt":
        from federated.trees import Ensemble, TreeParams

        return Ensemble.from_vector(weights, TreeParams(depth=depth)).probabilities(inputs)
    import torch

    model = build_model(kind, inputs.shape[1], hidden=hidden)
    set_weights(model, weights)
    with torch.no_grad():
        logits = model(torch.as_tensor(inputs)).squeeze(1)
    return torch.sigmoid(logits).double().numpy()

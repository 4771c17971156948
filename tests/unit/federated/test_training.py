from __future__ import annotations

import numpy as np
import pytest

from federated.errors import SecAggRangeError
from federated.protocol import Phase, check_range
from federated.settings import RunSettings
from federated.training import dp_noise_multiplier, epsilon_spent, train_locally


def data(n: int = 600) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 5)).astype(np.float32)
    y = (x[:, 0] + 0.5 * rng.normal(size=n) > 0.8).astype(np.int64)
    return x, y


def test_fedprox_keeps_local_weights_closer_to_the_global_ones() -> None:
    x, y = data()
    start = np.zeros(6)
    plain = train_locally(
        RunSettings(model="lr", local_epochs=3, learning_rate=0.05, dp_epsilon=0.0),
        start,
        x,
        y,
        round_number=1,
    )
    prox = train_locally(
        # Without DP noise the comparison is exact (DP-SGD is on by default).
        RunSettings(
            model="lr",
            local_epochs=3,
            learning_rate=0.05,
            strategy="fedprox",
            proximal_mu=5.0,
            dp_epsilon=0.0,
        ),
        start,
        x,
        y,
        round_number=1,
    )
    assert np.linalg.norm(prox.weights - start) < 0.8 * np.linalg.norm(plain.weights - start)
    assert plain.epsilon == 0.0


@pytest.mark.parametrize("target", [1.0, 3.0, 8.0])
def test_noise_is_set_to_spend_the_target_epsilon_over_the_planned_rounds(target: float) -> None:
    settings = RunSettings(dp_epsilon=target, rounds=10, local_epochs=1, batch_size=64)
    sigma = dp_noise_multiplier(settings, 4000)
    spent_half = epsilon_spent(settings, 4000, sigma=sigma, completed_rounds=5)
    spent_all = epsilon_spent(settings, 4000, sigma=sigma, completed_rounds=10)
    assert spent_half < spent_all <= target * 1.01
    assert spent_all == pytest.approx(target, rel=0.05)


def test_dp_training_reports_epsilon_spent() -> None:
    x, y = data()
    settings = RunSettings(model="lr", dp_epsilon=2.0, rounds=4, batch_size=50)
    result = train_locally(settings, np.zeros(6), x, y, round_number=4)
    assert result.epsilon == pytest.approx(2.0, rel=0.05)
    assert np.all(np.isfinite(result.weights))


def test_vectors_that_secagg_would_clip_are_refused() -> None:
    check_range(np.array([7.9, -7.9]), phase=Phase.TRAIN)
    with pytest.raises(SecAggRangeError, match="train"):
        check_range(np.array([0.0, 8.5]), phase=Phase.TRAIN)
    with pytest.raises(SecAggRangeError):
        check_range(np.array([np.nan]), phase=Phase.EVALUATE)

"""Typed run settings read from Flower's run config, and member data settings from the node config.

Run-config keys (all optional; see ``docs/federated-model.md``): ``model``
(``lr``/``mlp``/``gbt``), ``tree-depth``, ``tree-learning-rate``, ``tree-l2``,
``tree-min-child-weight``, ``tree-bins``, ``eval-every``, ``strategy`` (``fedavg``/``fedprox``),
``proximal-mu``,
``server-learning-rate``, ``rounds``,
``local-epochs``, ``batch-size``, ``learning-rate``, ``hidden``, ``secagg``,
``dp-epsilon`` (0 = off; default in ``policies/federated.toml``), ``dp-delta``,
``dp-max-grad-norm``, ``feature-spec``,
``seed``, ``min-members``, ``holdout-fraction``, ``as-of``, ``output-dir``,
``model-name``, ``secagg-timeout``, ``bureau-key``, ``bureau-cert``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from federated.errors import RunConfigError
from federated.policy import shipped_policy
from federated.trees import TreeParams
from gateway.clock import local_date, system_clock

__all__ = ["DEFAULT_SPEC", "RunSettings", "UserConfigValue"]

UserConfigValue = bool | int | float | str
DEFAULT_SPEC = Path(__file__).resolve().parents[1] / "policies" / "features" / "uci-taiwan.toml"


@dataclass(frozen=True)
class RunSettings:
    """Everything a run needs to know, identical at the server and at every member."""

    model: Literal["lr", "mlp", "gbt"] = "gbt"
    strategy: Literal["fedavg", "fedprox"] = "fedavg"
    proximal_mu: float = 0.01
    server_learning_rate: float = 1.0
    rounds: int = 10
    local_epochs: int = 1
    batch_size: int = 32
    learning_rate: float = 0.02
    hidden: int = 32
    secagg: bool = True
    dp_epsilon: float = field(default_factory=lambda: _privacy_default("default_epsilon"))
    dp_delta: float = field(default_factory=lambda: _privacy_default("delta"))
    dp_max_grad_norm: float = 1.0
    feature_spec: Path = DEFAULT_SPEC
    seed: int = 7
    min_members: int = 3
    holdout_fraction: float = 0.2
    as_of: dt.date | None = None
    output_dir: Path | None = None
    model_name: str = "delinquency"
    secagg_timeout: float = 120.0
    bureau_key: Path | None = None
    bureau_cert: Path | None = None
    # Tuned for the default DP (bench.federated_dp): coarse bins and a strong λ and minimum child
    # hessian keep noisy histograms from choosing splits and leaf values on a handful of rows.
    tree_depth: int = 3
    tree_learning_rate: float = 0.3
    tree_l2: float = 30.0
    tree_min_child_weight: float = 50.0
    tree_bins: int = 16
    eval_every: int = 0

    @classmethod
    def from_run_config(cls, config: Mapping[str, UserConfigValue]) -> RunSettings:
        """Parse Flower's run config (keys in kebab case).

        Raises
        ------
        RunConfigError
            Naming the first key that is unknown or has a value of the wrong type or range.

        """
        known = {name.replace("_", "-") for name in cls.__dataclass_fields__}
        unknown = sorted(set(config) - known)
        if unknown:
            raise RunConfigError(f"run config: unknown keys {unknown}")
        default = cls()
        model = _choice(config, "model", ("lr", "mlp", "gbt"), default.model)
        strategy = _choice(config, "strategy", ("fedavg", "fedprox"), default.strategy)
        as_of_text = config.get("as-of")
        as_of = None
        if as_of_text not in (None, ""):
            try:
                as_of = dt.date.fromisoformat(str(as_of_text))
            except ValueError:
                raise RunConfigError(f"as-of: expected an ISO date, received {as_of_text!r}") from None
        settings = cls(
            model="lr" if model == "lr" else "gbt" if model == "gbt" else "mlp",
            strategy="fedprox" if strategy == "fedprox" else "fedavg",
            proximal_mu=_number(config, "proximal-mu", default.proximal_mu, low=0.0),
            server_learning_rate=_number(
                config, "server-learning-rate", default.server_learning_rate, low=1e-6
            ),
            rounds=_integer(config, "rounds", default.rounds, low=1),
            local_epochs=_integer(config, "local-epochs", default.local_epochs, low=1),
            batch_size=_integer(config, "batch-size", default.batch_size, low=1),
            learning_rate=_number(config, "learning-rate", default.learning_rate, low=1e-9),
            hidden=_integer(config, "hidden", default.hidden, low=1),
            secagg=_flag(config, "secagg", default.secagg),
            dp_epsilon=_number(config, "dp-epsilon", default.dp_epsilon, low=0.0),
            dp_delta=_number(config, "dp-delta", default.dp_delta, low=1e-12),
            dp_max_grad_norm=_number(config, "dp-max-grad-norm", default.dp_max_grad_norm, low=1e-9),
            feature_spec=Path(str(config.get("feature-spec") or default.feature_spec)),
            seed=_integer(config, "seed", default.seed, low=0),
            min_members=_integer(config, "min-members", default.min_members, low=2),
            holdout_fraction=_number(config, "holdout-fraction", default.holdout_fraction, low=0.01),
            as_of=as_of,
            output_dir=_path(config, "output-dir"),
            model_name=str(config.get("model-name") or default.model_name),
            secagg_timeout=_number(config, "secagg-timeout", default.secagg_timeout, low=0.1),
            bureau_key=_path(config, "bureau-key"),
            bureau_cert=_path(config, "bureau-cert"),
            tree_depth=_integer(config, "tree-depth", default.tree_depth, low=1),
            tree_learning_rate=_number(config, "tree-learning-rate", default.tree_learning_rate, low=1e-6),
            tree_l2=_number(config, "tree-l2", default.tree_l2, low=0.0),
            tree_min_child_weight=_number(
                config, "tree-min-child-weight", default.tree_min_child_weight, low=0.0
            ),
            tree_bins=_integer(config, "tree-bins", default.tree_bins, low=2),
            eval_every=_integer(config, "eval-every", default.eval_every, low=0),
        )
        if settings.tree_depth > 8 or settings.tree_bins > 256:
            raise RunConfigError("tree-depth: at most 8 levels and 256 bins (tree-bins)")
        if settings.holdout_fraction >= 1.0:
            raise RunConfigError("holdout-fraction: expected a value below 1")
        return settings

    @property
    def tree_params(self) -> TreeParams:
        """The growth parameters of ``gbt`` runs."""
        return TreeParams(
            depth=self.tree_depth,
            learning_rate=self.tree_learning_rate,
            l2=self.tree_l2,
            min_child_weight=self.tree_min_child_weight,
            bins=self.tree_bins,
        )

    @property
    def evaluation_interval(self) -> int:
        """Rounds between federated evaluations (``eval-every``; 0: every round, or a fifth of the trees)."""
        if self.eval_every:
            return self.eval_every
        return max(1, self.rounds // 5) if self.model == "gbt" else 1

    def reference_date(self) -> dt.date:
        """Return ``as-of``, or today's date in Beijing when unset (the app's own clock)."""
        return self.as_of or local_date(system_clock())


def _privacy_default(name: str) -> float:
    return float(getattr(shipped_policy().privacy, name))


def _choice(config: Mapping[str, UserConfigValue], key: str, allowed: tuple[str, ...], default: str) -> str:
    value = config.get(key, default)
    if value not in allowed:
        raise RunConfigError(f"{key}: expected one of {list(allowed)}, received {value!r}")
    return str(value)


def _flag(config: Mapping[str, UserConfigValue], key: str, default: bool) -> bool:
    value = config.get(key, default)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "false"}:
        return value.lower() == "true"
    raise RunConfigError(f"{key}: expected true or false, received {value!r}")


def _integer(config: Mapping[str, UserConfigValue], key: str, default: int, *, low: int) -> int:
    value = config.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise RunConfigError(f"{key}: expected an integer >= {low}, received {value!r}")
    return value


def _number(config: Mapping[str, UserConfigValue], key: str, default: float, *, low: float) -> float:
    value = config.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < low:
        raise RunConfigError(f"{key}: expected a number >= {low}, received {value!r}")
    return float(value)


def _path(config: Mapping[str, UserConfigValue], key: str) -> Path | None:
    value = config.get(key)
    return Path(str(value)) if value not in (None, "") else None

"""Local scoring: a verified model scores the member's own accounts into risk tiers.

Nothing here sends anything: scores are written to a local file. The model must have
come through :func:`federated.registry.load_verified`, and the member's feature spec
must be the one the model was trained with (same SHA-256).
"""

from __future__ import annotations

import csv
import tomllib
from collections import Counter
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import numpy as np
import numpy.typing as npt

from federated.errors import FeatureSpecError
from federated.features.spec import FeatureSpec
from federated.features.table import RawTable
from federated.models import predict
from federated.registry import VerifiedModel
from gateway.errors import ConfigError

__all__ = ["DEFAULT_MODEL_POLICY", "Scores", "Tier", "TierPolicy", "load_tier_policy", "score_table"]

DEFAULT_MODEL_POLICY = Path(__file__).resolve().parents[1] / "policies" / "model.toml"


class Tier(StrEnum):
    """Risk tier of an account (客户分层)."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


@dataclass(frozen=True)
class TierPolicy:
    """Probability bounds of the tiers and the collection action of each."""

    medium_from: float
    high_from: float
    actions: dict[Tier, str]

    def __post_init__(self) -> None:
        """Validate the bounds at construction."""
        if not 0.0 < self.medium_from < self.high_from < 1.0:
            raise ConfigError(
                "tiers: expected 0 < medium_from < high_from < 1,"
                f" received {self.medium_from}, {self.high_from}"
            )

    def tier(self, probability: float) -> Tier:
        """Return the tier of one probability of default."""
        if probability >= self.high_from:
            return Tier.HIGH
        return Tier.MEDIUM if probability >= self.medium_from else Tier.LOW


def load_tier_policy(path: Path = DEFAULT_MODEL_POLICY) -> TierPolicy:
    """Read ``[tiers]`` from the model policy file.

    Raises
    ------
    ConfigError
        When the file is unreadable or the bounds are missing or out of order.

    """
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
        tiers = document["tiers"]
        medium, high = tiers["medium_from"], tiers["high_from"]
        actions = {tier: str(tiers.get("actions", {}).get(tier.value, tier.value)) for tier in Tier}
    except (OSError, tomllib.TOMLDecodeError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(f"tiers: cannot read medium_from/high_from from {path}: {exc}") from None
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (medium, high)):
        raise ConfigError("tiers: medium_from and high_from must be numbers")
    return TierPolicy(float(medium), float(high), actions)


@dataclass(frozen=True)
class Scores:
    """Scores of the member's accounts (local only)."""

    keys: tuple[str, ...]
    probabilities: npt.NDArray[np.float64]
    tiers: tuple[Tier, ...]

    def counts(self) -> Counter[Tier]:
        """Return the number of accounts per tier."""
        return Counter(self.tiers)

    def write_csv(self, path: Path) -> None:
        """Write ``account_ref, probability, tier`` rows to a local file."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["account_ref", "probability", "tier"])
            for key, p, tier in zip(self.keys, self.probabilities, self.tiers, strict=True):
                writer.writerow([key, f"{p:.6f}", tier.value])


def score_table(model: VerifiedModel, spec: FeatureSpec, table: RawTable, policy: TierPolicy) -> Scores:
    """Score every row of ``table`` with a verified model.

    Raises
    ------
    FeatureSpecError
        When ``spec`` is not the spec the model was trained with.

    """
    record = model.record
    if spec.digest != record.spec_sha256:
        raise FeatureSpecError(
            f"feature spec: model {record.name} v{record.version} was trained with spec"
            f" {record.spec_sha256[:12]}…, the member's spec is {spec.digest[:12]}…"
        )
    inputs = record.normaliser.apply(table.matrix(spec, record.imputation))
    probabilities = predict(record.kind, record.weights, inputs, hidden=record.hidden, depth=record.depth)
    return Scores(table.keys, probabilities, tuple(policy.tier(float(p)) for p in probabilities))

"""A run's results: per-round figures, final quality, ε, and the files written to ``output-dir``.

``<output-dir>/results.json`` is rewritten after every round (``status`` ``running``)
and once more at the end (``finished``), with the model's registry path. Only
aggregate figures appear here: no member's own count or metric is ever known.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from federated.errors import FederatedRunError
from federated.features.spec import FeatureSpec
from federated.member import imputation_map
from federated.metrics import Quality
from federated.models import Normaliser
from federated.registry import ModelRecord, next_version, publish
from federated.settings import RunSettings
from gateway.clock import system_clock

if TYPE_CHECKING:
    from federated.server.profile import Profile

__all__ = ["RESULTS_FILE", "RunResult"]

RESULTS_FILE = "results.json"
logger = logging.getLogger(__name__)


@dataclass
class RunResult:
    """Mutable record of a run, serialised to ``results.json``."""

    settings: RunSettings
    spec: FeatureSpec
    members: int
    rounds: list[dict[str, Any]] = field(default_factory=list)
    normaliser: Normaliser | None = None
    training_rows: int = 0
    final: Quality | None = None
    weights: np.ndarray | None = None
    model_path: Path | None = None
    card_path: Path | None = None
    elapsed: float = 0.0
    phase_seconds: dict[str, float] = field(default_factory=dict)
    timing: dict[str, object] = field(default_factory=dict)
    imputation: dict[str, float] = field(default_factory=dict)
    failure: dict[str, Any] | None = None
    # What the run is doing now, for `credgate train` before round 1 ("agreeing on …").
    phase: str = ""

    @classmethod
    def start(cls, settings: RunSettings, spec: FeatureSpec, members: int) -> RunResult:
        """Begin a run's record."""
        return cls(settings, spec, members)

    def set_profile(self, profile: Profile) -> None:
        """Record the agreed imputation (column → value) and the federation's training rows."""
        self.imputation = imputation_map(self.spec, profile.imputation)
        self.training_rows = round(profile.rows)

    def set_normaliser(self, mean: np.ndarray, std: np.ndarray, *, rows: int) -> None:
        """Record the agreed normalisation and the federation's total training rows."""
        self.normaliser, self.training_rows = Normaliser(mean, std), rows

    def add_round(
        self, number: int, measured: Quality, *, epsilon: float, members: int, seconds: float
    ) -> None:
        """Record one round's aggregate evaluation."""
        self.final = measured
        self.rounds.append(
            {
                "round": number,
                **measured.summary(),
                "epsilon": epsilon,
                "members": members,
                "seconds": seconds,
            }
        )

    @property
    def epsilon(self) -> float:
        """Mean ε spent by the members (each at most the target ``dp-epsilon``)."""
        return float(self.rounds[-1]["epsilon"]) if self.rounds else 0.0

    def to_json(self, status: str) -> dict[str, Any]:
        """Return the results document."""
        settings = {
            k.replace("_", "-"): str(v) if isinstance(v, Path | dt.date) else v
            for k, v in dataclasses.asdict(self.settings).items()
            if k not in {"bureau_key"}
        }
        final = self.final
        return {
            "status": status,
            "phase": self.phase,
            "settings": settings,
            "spec": {"name": self.spec.name, "version": self.spec.version, "sha256": self.spec.digest},
            "members": self.members,
            "training_rows": self.training_rows,
            "holdout_rows": final.rows if final else 0,
            "holdout_default_rate": final.default_rate if final else None,
            "rounds": self.rounds,
            "final": final.summary() if final else None,
            "calibration": final.calibration if final else [],
            "epsilon": self.epsilon if self.settings.dp_epsilon > 0 else None,
            "epsilon_target": self.settings.dp_epsilon or None,
            "delta": self.settings.dp_delta if self.settings.dp_epsilon > 0 else None,
            "elapsed_seconds": self.elapsed,
            "phase_seconds": self.phase_seconds,
            "timing": self.timing,
            "model": str(self.model_path) if self.model_path else None,
            "model_card": str(self.card_path) if self.card_path else None,
            "imputation": self.imputation,
            "failure": self.failure,
        }

    def enter(self, phase: str) -> None:
        """Record and publish the phase the run is entering."""
        self.phase = phase
        self.write_progress()

    def write_progress(self, status: str = "running") -> None:
        """Rewrite ``results.json`` atomically (no-op without ``output-dir``)."""
        out = self.settings.output_dir
        if out is None:
            return
        out.mkdir(parents=True, exist_ok=True)
        temporary = out / f".{RESULTS_FILE}.tmp"
        temporary.write_text(json.dumps(self.to_json(status), indent=1, default=float), encoding="utf-8")
        os.replace(temporary, out / RESULTS_FILE)

    def fail(self, exc: BaseException) -> None:
        """Record why the run failed (members, phases and reason classes only) and write it."""
        failures = getattr(exc, "failures", [])
        self.failure = {
            "error": type(exc).__name__,
            "reason": str(getattr(exc, "reason", "internal_error")),
            "message": str(exc) if isinstance(exc, FederatedRunError) else type(exc).__name__,
            "members": [{"member": f.member, "phase": f.phase, "reason": f.reason} for f in failures],
        }
        self.write_progress("failed")

    def record(self, *, version: int) -> ModelRecord:
        """Return the registry record of the trained model."""
        if self.weights is None or self.normaliser is None:
            raise ValueError("the run has no trained model yet")
        return ModelRecord(
            name=self.settings.model_name,
            version=version,
            created_at=system_clock().isoformat(timespec="seconds"),
            kind=self.settings.model,
            hidden=self.settings.hidden,
            weights=self.weights,
            normaliser=self.normaliser,
            spec_name=self.spec.name,
            spec_sha256=self.spec.digest,
            input_names=self.spec.input_names(),
            metrics=self.final.summary() if self.final else {},
            epsilon=self.epsilon,
            delta=self.settings.dp_delta if self.settings.dp_epsilon > 0 else 0.0,
            settings=self.to_json("finished")["settings"],
            imputation=dict(self.imputation),
            depth=self.settings.tree_depth if self.settings.model == "gbt" else 0,
        )

    def finish(
        self,
        weights: np.ndarray,
        *,
        elapsed: float,
        phase_seconds: dict[str, float],
        timing: dict[str, object] | None = None,
    ) -> None:
        """Store the final model, publish it to ``<output-dir>/registry`` and write the card."""
        self.weights, self.elapsed, self.phase_seconds = weights, elapsed, dict(phase_seconds)
        self.timing = dict(timing or {})
        out = self.settings.output_dir
        if out is not None:
            from federated.model_card import write_model_card

            registry = out / "registry"
            record = self.record(version=next_version(registry, self.settings.model_name))
            key = self.settings.bureau_key.read_bytes() if self.settings.bureau_key else None
            cert = self.settings.bureau_cert.read_bytes() if self.settings.bureau_cert else None
            if key is None:
                logger.warning("no bureau-key in the run config: the model is written unsigned")
            self.model_path = publish(registry, record, key_pem=key, certificate_pem=cert)
            self.card_path = write_model_card(self.model_path.parent / "model-card.html", self, record)
        self.write_progress("finished")

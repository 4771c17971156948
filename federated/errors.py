"""Errors of the federated-learning package; all derive from :class:`gateway.errors.GatewayError`."""

from __future__ import annotations

from gateway.crypto.errors import CryptoError
from gateway.errors import ConfigError, GatewayError

__all__ = [
    "FeatureSpecError",
    "FederatedError",
    "FederatedRunError",
    "ModelVerificationError",
    "RunConfigError",
    "SecAggRangeError",
]


class FederatedError(GatewayError):
    """Root of the federated-learning errors."""

    reason = "federated_failed"


class FeatureSpecError(ConfigError):
    """A feature spec file is missing or malformed; the message names the field."""

    reason = "feature_spec_invalid"


class RunConfigError(ConfigError):
    """A run-config or node-config value is missing or malformed; the message names the key."""

    reason = "run_config_invalid"


class SecAggRangeError(FederatedError):
    """A value would fall outside the range SecAgg+ can carry without clipping it silently."""

    reason = "secagg_range_exceeded"


class FederatedRunError(FederatedError):
    """A federated run could not complete (too few members answered, a phase failed)."""

    reason = "federated_run_failed"


class ModelVerificationError(CryptoError):
    """A model file failed verification (hash, signature or certificate); deliberately coarse."""

    reason = "model_verification_failed"

    def __init__(self, name: str) -> None:
        super().__init__(f"model {name!r} failed verification and was refused")
        self.model_name = name

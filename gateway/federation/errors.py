"""Errors of the federated-learning deployment."""

from __future__ import annotations

from gateway.errors import GatewayError, PolicyDenied


class FederationError(GatewayError):
    """A Flower part could not be started, reached or driven."""

    reason = "federation_failed"


class BundleNotAllowed(PolicyDenied):
    """A Flower app bundle's SHA-256 is not in ``policies/federated_bundles.toml``."""

    reason = "bundle_not_allowed"


class TrainingFailed(GatewayError):
    """A federated run ended in a state other than ``finished:completed``."""

    reason = "training_failed"

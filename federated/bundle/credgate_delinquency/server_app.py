"""ServerApp component of the bundle: ``federated.apps.server:app``."""

from federated.apps.server import app

__all__ = ["app"]

"""ClientApp component of the bundle: ``federated.apps.client:app``."""

from federated.apps.client import app

__all__ = ["app"]

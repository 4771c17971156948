"""The Flower apps: ``federated.apps.server:app`` (ServerApp), ``federated.apps.client:app`` (ClientApp)."""

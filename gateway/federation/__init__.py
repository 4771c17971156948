"""Flower deployment across the consortium: SuperLink, SuperNodes and the mTLS fleet relay.

The bureau runs Flower's SuperLink on loopback only (its control and runtime APIs
have no authentication) and exposes the fleet API alone through
:mod:`gateway.federation.relay`, a mutual-TLS gRPC endpoint that admits lender
certificates from the consortium CA. Each member runs a SuperNode that talks to
:mod:`gateway.federation.member_gateway` on its own loopback, which forwards the
fleet calls over mTLS to the relay and refuses any run whose app bundle (FAB)
is not allow-listed in ``policies/federated_bundles.toml``.
"""

from __future__ import annotations

from gateway.federation.bundles import BundleAllowList, fab_sha256
from gateway.federation.errors import BundleNotAllowed, FederationError, TrainingFailed
from gateway.federation.settings import FederationSettings

__all__ = [
    "BundleAllowList",
    "BundleNotAllowed",
    "FederationError",
    "FederationSettings",
    "TrainingFailed",
    "fab_sha256",
]

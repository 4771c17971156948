"""Errors of the regulator reports (kept apart so that status mapping stays a light import)."""

from __future__ import annotations

from gateway.errors import AlreadyExistsError, GatewayError


class AlreadyReleasedError(AlreadyExistsError):
    """The key was already released: answer from the cached release, never re-noise."""

    reason = "report_already_released"


class NoiseReuseError(GatewayError):
    """A member was asked for a second noise share for the same round attempt."""

    reason = "noise_share_reused"

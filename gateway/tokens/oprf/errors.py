"""Errors of the OPRF key material (the key ring and key derivation)."""

from __future__ import annotations

from gateway.errors import GatewayError


class OPRFKeyError(GatewayError):
    """An OPRF key cannot be created, derived, loaded or trusted.

    Raised for a key file with a wrong version byte, size, epoch or permissions,
    an invalid key scalar, or a key folder that cannot be written. Messages name
    the file and what was expected, never key bytes.
    """

    reason = "oprf_key_invalid"

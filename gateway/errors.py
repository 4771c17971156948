"""The one exception hierarchy of the gateway.

Every error the gateway raises on purpose derives from :class:`GatewayError`.
``gateway.rpc.status`` maps each class to a gRPC status code and the CLI maps
each to an exit code; both branch on the class and its ``reason``, never on text.
"""

from __future__ import annotations


class GatewayError(Exception):
    """Root of every error the gateway raises deliberately.

    Parameters
    ----------
    message
        Plain words for an operator: what was expected and what was received,
        never a secret or a raw PII value.
    reason
        A stable machine-readable code (``snake_case``) peers and the CLI branch on.

    """

    reason = "gateway_error"

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if reason is not None:
            self.reason = reason


class ConfigError(GatewayError):
    """A configuration file, setting or certificate path is missing or malformed."""

    reason = "config_invalid"


class InvalidInputError(GatewayError):
    """A request or input row is malformed; ``field`` names what is wrong."""

    reason = "invalid_input"

    def __init__(self, message: str, *, field: str, reason: str | None = None) -> None:
        super().__init__(f"{field}: {message}", reason=reason)
        self.field = field


class IdentityError(GatewayError):
    """A certificate, key or revocation list cannot be created, loaded or trusted."""

    reason = "identity_invalid"


class PolicyDenied(GatewayError):
    """The policy decision point refused a request."""

    reason = "policy_denied"


class RateLimited(GatewayError):
    """A caller exceeded a rate limit declared in the policies."""

    reason = "rate_limited"


class StoreError(GatewayError):
    """The local store failed or is in an unexpected state."""

    reason = "store_failed"


class ImportFileError(GatewayError):
    """An import file or its column mapping cannot be read; nothing was imported."""

    reason = "import_file_invalid"


class NotFoundError(GatewayError):
    """A named object (member, certificate, record) does not exist."""

    reason = "not_found"


class UnavailableError(GatewayError):
    """A peer (bureau, member) cannot be reached or did not answer in time."""

    reason = "unavailable"


class ProtocolRefused(PolicyDenied):
    """A peer deviated from a protocol; the request is refused and audited.

    For example a replayed attempt, a grown answering set, or a query no member made.
    """

    reason = "protocol_refused"


class VerificationError(GatewayError):
    """An answer did not verify against the signed evidence that must back it."""

    reason = "verification_failed"


class AlreadyExistsError(GatewayError):
    """What was asked for exists already and is not made again (gRPC ALREADY_EXISTS)."""

    reason = "already_exists"


class InsufficientCoverage(GatewayError):
    """Too few members answered for an answer to be given (exit code of its own)."""

    reason = "insufficient_coverage"

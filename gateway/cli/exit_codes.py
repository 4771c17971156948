"""Process exit codes, in numbered ranges per component; a code is never reused.

``docs/exit-codes.md`` describes each; ``tests/unit/cli/test_exit_codes.py``
checks that every code here is documented there.
"""

from __future__ import annotations

import enum

from gateway import errors
from gateway.crypto.errors import CryptoError
from gateway.egress.guard import EgressBlocked
from gateway.federation.errors import FederationError, TrainingFailed
from gateway.tlog.errors import KeyLogAlert, LogIntegrityError, TransparencyError
from gateway.tokens.oprf.errors import OPRFKeyError


class ExitCode(enum.IntEnum):
    """Exit codes of the ``credgate`` command."""

    OK = 0
    INTERNAL = 1
    USAGE = 2
    CONFIG_INVALID = 10
    IDENTITY_INVALID = 11
    INVALID_INPUT = 12
    NOT_FOUND = 13
    CRYPTO_REFUSED = 14
    OPRF_KEY_INVALID = 15
    EGRESS_BLOCKED = 16
    VERIFICATION_FAILED = 17
    IMPORT_FILE_INVALID = 20
    STORE_FAILED = 21
    IMPORT_ALL_REJECTED = 22
    UNAVAILABLE = 30
    INSUFFICIENT_COVERAGE = 31
    POLICY_DENIED = 40
    RATE_LIMITED = 41
    PROTOCOL_REFUSED = 42
    ALREADY_EXISTS = 43
    DOCTOR_FOUND_PROBLEMS = 50
    DEMO_FAILED = 60
    FEDERATION_FAILED = 70
    TRAINING_FAILED = 71
    LOG_TAMPERED = 80
    TRANSPARENCY_FAILED = 81
    KEY_ALERT = 82
    CONTACT_REFUSED = 90


_BY_ERROR: tuple[tuple[type[errors.GatewayError], ExitCode], ...] = (
    (errors.ConfigError, ExitCode.CONFIG_INVALID),
    (errors.IdentityError, ExitCode.IDENTITY_INVALID),
    (errors.InvalidInputError, ExitCode.INVALID_INPUT),
    (errors.NotFoundError, ExitCode.NOT_FOUND),
    (CryptoError, ExitCode.CRYPTO_REFUSED),
    (OPRFKeyError, ExitCode.OPRF_KEY_INVALID),
    (EgressBlocked, ExitCode.EGRESS_BLOCKED),
    (errors.ImportFileError, ExitCode.IMPORT_FILE_INVALID),
    (errors.StoreError, ExitCode.STORE_FAILED),
    (errors.UnavailableError, ExitCode.UNAVAILABLE),
    (errors.InsufficientCoverage, ExitCode.INSUFFICIENT_COVERAGE),
    (errors.VerificationError, ExitCode.VERIFICATION_FAILED),
    (errors.ProtocolRefused, ExitCode.PROTOCOL_REFUSED),
    (errors.AlreadyExistsError, ExitCode.ALREADY_EXISTS),
    (errors.PolicyDenied, ExitCode.POLICY_DENIED),
    (errors.RateLimited, ExitCode.RATE_LIMITED),
    (TrainingFailed, ExitCode.TRAINING_FAILED),
    (FederationError, ExitCode.FEDERATION_FAILED),
    (LogIntegrityError, ExitCode.LOG_TAMPERED),
    (KeyLogAlert, ExitCode.KEY_ALERT),
    (TransparencyError, ExitCode.TRANSPARENCY_FAILED),
)


def exit_code_for(error: errors.GatewayError) -> ExitCode:
    """Return the exit code for a gateway error (INTERNAL when unmapped)."""
    for error_class, code in _BY_ERROR:
        if isinstance(error, error_class):
            return code
    return ExitCode.INTERNAL

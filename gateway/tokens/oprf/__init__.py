"""RFC 9497 OPRF, mode OPRF, suite ristretto255-SHA512, over libsodium (``rbcl``).

Members call :func:`blind` and :func:`finalize`; the bureau holds an
:class:`OPRFKeyRing` and calls :func:`blind_evaluate`. All functions work on
batches. This package and ``gateway/crypto/`` are the only ones that touch
low-level cryptography (STYLE §3).
"""

from gateway.tokens.oprf.client import BlindBatch, blind, finalize
from gateway.tokens.oprf.errors import OPRFKeyError
from gateway.tokens.oprf.keyring import OPRFKeyRing
from gateway.tokens.oprf.server import OPRFServerKey, blind_evaluate

__all__ = [
    "BlindBatch",
    "OPRFKeyError",
    "OPRFKeyRing",
    "OPRFServerKey",
    "blind",
    "blind_evaluate",
    "finalize",
]

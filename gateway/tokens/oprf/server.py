"""Server side of the OPRF (RFC 9497 §3.3.1): the bureau's key and ``BlindEvaluate``.

The bureau multiplies each blinded element by its secret scalar. It never sees
an input or an output, only uniformly random-looking elements, so the only
thing it must do besides keeping the key secret is to refuse malformed
elements (RFC 9497 §3.3.4) and rate-limit callers (done by the caller of this
module, since the OPRF is an oracle for whoever may query it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import repeat

from gateway.errors import InvalidInputError
from gateway.tokens.oprf import _sodium
from gateway.tokens.oprf.errors import OPRFKeyError
from gateway.tokens.oprf.suite import (
    ELEMENT_BYTES,
    FINALIZE_LABEL,
    IDENTITY,
    MAX_INPUT_BYTES,
    derive_key_pair,
    hash_to_group,
    multiply_received,
    scalar_is_canonical_nonzero,
)

__all__ = ["OPRFServerKey", "blind_evaluate", "evaluate"]


@dataclass(frozen=True, slots=True, eq=False)
class OPRFServerKey:
    """The bureau's OPRF secret scalar ``skS`` for one key epoch.

    The object is immutable and holds no state that changes with use, so one
    instance can serve any number of evaluations from any thread. Equality is
    identity (``eq=False``) so that no code compares secret bytes, and the
    scalar is hidden from ``repr``.

    Attributes
    ----------
    scalar
        ``skS``: a canonical, non-zero 32-byte little-endian scalar.
    epoch
        The key epoch (>= 1) outputs made with this key belong to.

    Raises
    ------
    OPRFKeyError
        At construction, when the scalar is not canonical and non-zero or the
        epoch is not a positive ``int``.

    """

    scalar: bytes = field(repr=False)
    epoch: int

    def __post_init__(self) -> None:
        """Validate the scalar and the epoch (STYLE §3: validate at construction)."""
        if not scalar_is_canonical_nonzero(self.scalar):
            raise OPRFKeyError("expected a canonical non-zero 32-byte scalar as OPRF key")
        if type(self.epoch) is not int or self.epoch < 1:
            raise OPRFKeyError(f"expected a positive integer key epoch, got {self.epoch!r}")

    @classmethod
    def generate(cls, epoch: int) -> OPRFServerKey:
        """Return a fresh random key (RFC 9497 §3.2 ``GenerateKeyPair``).

        Parameters
        ----------
        epoch
            The epoch of the new key.

        Returns
        -------
        OPRFServerKey
            A key drawn from libsodium's CSPRNG.

        """
        return cls(_sodium.scalar_random(), epoch)

    @classmethod
    def derive(cls, seed: bytes, info: bytes, *, epoch: int) -> OPRFServerKey:
        """Return the key ``DeriveKeyPair(seed, info)`` gives (RFC 9497 §3.2.1).

        Parameters
        ----------
        seed
            32 bytes of secret seed material.
        info
            Public derivation label.
        epoch
            The epoch of the derived key.

        Returns
        -------
        OPRFServerKey
            The deterministic key.

        Raises
        ------
        InvalidInputError
            When the seed or info has the wrong size.

        """
        secret, _public = derive_key_pair(seed, info)
        return cls(secret, epoch)


def blind_evaluate(key: OPRFServerKey, blinded_elements: Sequence[bytes]) -> list[bytes]:
    """Evaluate blinded elements, RFC 9497 §3.3.1 ``BlindEvaluate``.

    Parameters
    ----------
    key
        The bureau's key for the current epoch.
    blinded_elements
        Untrusted serialized elements from a member.

    Returns
    -------
    list[bytes]
        ``SerializeElement(skS * blindedElement)`` for each element, in order.

    Raises
    ------
    InvalidInputError
        When an element is not 32 bytes, not a canonical encoding, or the
        identity; ``field`` is ``"blinded_elements[i]"`` for the first bad one
        and the message does not say which check failed.

    """
    # Step 1 is the fused DeserializeElement + multiplication, validating every
    # element (RFC 9497 §3.3.4); step 2 is its serialization by libsodium.
    scalars = repeat(key.scalar, len(blinded_elements))
    return multiply_received(scalars, blinded_elements, field="blinded_elements")


def evaluate(key: OPRFServerKey, input: bytes) -> bytes:
    """Compute the OPRF output directly, RFC 9497 §3.3.1 ``Evaluate``.

    Only for tests and offline checks: the bureau never holds inputs.

    Parameters
    ----------
    key
        The key to evaluate under.
    input
        The private input, at most 65535 bytes.

    Returns
    -------
    bytes
        The 64-byte output, equal to what ``blind`` / ``blind_evaluate`` /
        ``finalize`` give for the same key and input.

    Raises
    ------
    InvalidInputError
        When ``input`` is not bytes, is too long, or hashes to the identity.

    """
    if not isinstance(input, bytes) or len(input) > MAX_INPUT_BYTES:
        raise InvalidInputError(f"expected bytes of at most {MAX_INPUT_BYTES} bytes", field="input")
    # Steps 1-3: inputElement = G.HashToGroup(input); refuse the identity.
    (element,) = hash_to_group([input])
    if element == IDENTITY:
        raise InvalidInputError("input hashes to the identity element", field="input")
    # Steps 4-5: evaluatedElement = skS * inputElement; issuedElement = serialized.
    issued = _sodium.scalarmult(key.scalar, element)
    # Steps 6-8: Hash(I2OSP(len(input), 2) || input || I2OSP(len(issuedElement), 2)
    # || issuedElement || "Finalize").
    return hashlib.sha512(
        len(input).to_bytes(2, "big") + input + ELEMENT_BYTES.to_bytes(2, "big") + issued + FINALIZE_LABEL
    ).digest()

"""Subject tokens: what is fed to the OPRF for a person, and what comes out.

:func:`token_input` turns a raw identifier into the OPRF input. It normalises
first (so the 15- and 18-digit forms of one resident ID, full-width digits and
separators all give one input) and prefixes a versioned, typed label, so that a
mobile number can never give the same input as a resident ID and a future
change of encoding gets a new version instead of silently new tokens.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Final

from gateway.errors import InvalidInputError
from gateway.identifiers import normalise_mobile, normalise_resident_id
from gateway.store.enums import TokenType

__all__ = ["TOKEN_INPUT_PREFIX", "SubjectToken", "TokenType", "token_input", "token_inputs"]

TOKEN_INPUT_PREFIX: Final = b"credgate/v1/"
"""Version label every OPRF input starts with; bump it to change the encoding."""

TOKEN_VALUE_BYTES: Final = 64
"""Size of a token value: one RFC 9497 ristretto255-SHA512 output (``Nh``)."""


_NORMALISERS: Final[dict[TokenType, Callable[..., str]]] = {
    TokenType.RESIDENT_ID: normalise_resident_id,
    TokenType.MOBILE: normalise_mobile,
}


def token_input(token_type: TokenType, raw_value: str, *, field: str | None = None) -> bytes:
    """Return the OPRF input for one identifier.

    The result is ``b"credgate/v1/" || type || b"/" || normalised ASCII``, e.g.
    ``b"credgate/v1/resident_id/11010519491231002X"``. Types contain no ``/``, so
    inputs of different types never coincide.

    Parameters
    ----------
    token_type
        Which identifier ``raw_value`` is.
    raw_value
        The identifier as found in a record (any accepted form).
    field
        Name used in errors; defaults to the token type.

    Returns
    -------
    bytes
        The domain-separated, versioned OPRF input.

    Raises
    ------
    InvalidInputError
        When the value is not a valid identifier of that type.

    """
    kind = TokenType(token_type)
    normalised = _NORMALISERS[kind](raw_value, field=field or kind.value)
    return TOKEN_INPUT_PREFIX + kind.value.encode("ascii") + b"/" + normalised.encode("ascii")


def token_inputs(token_type: TokenType, raw_values: Sequence[str]) -> list[bytes]:
    """Return :func:`token_input` of each value, naming the index of a bad one.

    Parameters
    ----------
    token_type
        Which identifier the values are.
    raw_values
        The identifiers, in any accepted form.

    Returns
    -------
    list[bytes]
        One OPRF input per value, in order.

    Raises
    ------
    InvalidInputError
        For the first invalid value, with field ``"<type>[i]"``.

    """
    return [
        token_input(token_type, value, field=f"{token_type}[{index}]")
        for index, value in enumerate(raw_values)
    ]


@dataclass(frozen=True, slots=True)
class SubjectToken:
    """A subject's token: an OPRF output and the key epoch that made it.

    Tokens of different epochs or types are unrelated and never compared.
    The value is a stable pseudonym, so it is hidden from ``repr`` and logs.

    Attributes
    ----------
    type
        Which identifier the token was made from.
    key_epoch
        The bureau key epoch (>= 1).
    value
        The 64-byte OPRF output.

    Raises
    ------
    InvalidInputError
        At construction, when a field has the wrong type or size.

    """

    type: TokenType
    key_epoch: int
    value: bytes = field(repr=False)

    def __post_init__(self) -> None:
        """Validate types and sizes (STYLE §3: validate at construction)."""
        if not isinstance(self.type, TokenType):
            raise InvalidInputError(f"expected one of {[t.value for t in TokenType]}", field="type")
        if type(self.key_epoch) is not int or self.key_epoch < 1:
            raise InvalidInputError(f"expected a positive epoch, got {self.key_epoch!r}", field="key_epoch")
        if not isinstance(self.value, bytes) or len(self.value) != TOKEN_VALUE_BYTES:
            received = len(self.value) if isinstance(self.value, bytes) else type(self.value).__name__
            raise InvalidInputError(f"expected {TOKEN_VALUE_BYTES} bytes, got {received}", field="value")

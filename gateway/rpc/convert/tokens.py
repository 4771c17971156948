"""``credgate.v1.TokenType`` ⇄ :class:`gateway.store.enums.TokenType`."""

from __future__ import annotations

from gateway._proto.credgate.v1 import common_pb2
from gateway.errors import InvalidInputError
from gateway.store.enums import TokenType

TOKEN_TYPES: dict[TokenType, common_pb2.TokenType.ValueType] = {
    TokenType.RESIDENT_ID: common_pb2.TOKEN_TYPE_RESIDENT_ID,
    TokenType.MOBILE: common_pb2.TOKEN_TYPE_MOBILE,
}


def token_type_from_proto(value: int) -> TokenType:
    """The token type of a ``credgate.v1.TokenType`` value.

    Raises
    ------
    InvalidInputError
        For an unknown or unspecified type.

    """
    for token_type, number in TOKEN_TYPES.items():
        if number == value:
            return token_type
    raise InvalidInputError("expected TOKEN_TYPE_RESIDENT_ID or TOKEN_TYPE_MOBILE", field="token_type")

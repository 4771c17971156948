"""Conversion between the domain :class:`Role` and the protobuf enum."""

from __future__ import annotations

from gateway._proto.credgate.v1 import common_pb2
from gateway.identity.peer import Role

_TO_PROTO = {
    Role.BANK: common_pb2.ROLE_BANK,
    Role.CONSUMER_FINANCE: common_pb2.ROLE_CONSUMER_FINANCE,
    Role.MICRO_LENDER: common_pb2.ROLE_MICRO_LENDER,
    Role.AGENCY: common_pb2.ROLE_AGENCY,
    Role.BUREAU: common_pb2.ROLE_BUREAU,
    Role.REGULATOR: common_pb2.ROLE_REGULATOR,
}
_FROM_PROTO = {value: role for role, value in _TO_PROTO.items()}


def role_to_proto(role: Role) -> common_pb2.Role.ValueType:
    """Return the protobuf enum value for ``role``."""
    return _TO_PROTO[role]


def role_from_proto(value: common_pb2.Role.ValueType) -> Role:
    """Return the domain role for a protobuf enum value.

    Raises
    ------
    KeyError
        For ``ROLE_UNSPECIFIED`` or an unknown value.

    """
    return _FROM_PROTO[value]

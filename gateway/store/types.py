"""Column types that behave the same on SQLite and PostgreSQL.

SQLite has no time-zone-aware timestamp and no decimal type, so these
decorators make the Python side identical on both backends: timestamps are
stored in UTC and always come back as aware :class:`~datetime.datetime` values,
money comes back as :class:`~decimal.Decimal` with two places.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

CENT = Decimal("0.01")


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timestamp stored in UTC that is always returned time-zone aware.

    Binding a naive datetime raises :class:`ValueError`: a naive value has no
    defined instant and guessing a zone is how timestamps go wrong.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        """Convert an aware datetime to UTC (naive UTC on SQLite, which keeps no offset)."""
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("timestamps must be time-zone aware; got a naive datetime")
        in_utc = value.astimezone(dt.UTC)
        return in_utc.replace(tzinfo=None) if dialect.name == "sqlite" else in_utc

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        """Return the stored instant as an aware UTC datetime."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Money(TypeDecorator[Decimal]):
    """An amount in yuan, ``NUMERIC(18, 2)``, returned as a two-place :class:`Decimal`.

    SQLite keeps NUMERIC values as floating point; amounts below 10^13 yuan
    round-trip exactly at two places, which covers every consumer loan.
    """

    impl = sa.Numeric(18, 2)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        """Use a float-returning NUMERIC on SQLite; this method converts back to Decimal."""
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.Numeric(18, 2, asdecimal=False))
        return dialect.type_descriptor(sa.Numeric(18, 2))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Decimal | None:
        """Round to cents; more places than the column holds would be silently cut."""
        return None if value is None else Decimal(value).quantize(CENT)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        """Return the stored amount as a two-place Decimal."""
        if value is None:
            return None
        return Decimal(str(value)).quantize(CENT)


def enum_type(enum_class: type[StrEnum], *, name: str) -> sa.Enum:
    """Return a portable enum column type storing the members' string values.

    Parameters
    ----------
    enum_class
        The :class:`StrEnum` whose values are allowed.
    name
        Name of the CHECK constraint that restricts the column to those values.

    Returns
    -------
    sqlalchemy.Enum
        A ``VARCHAR`` with a CHECK constraint (no native PostgreSQL enum, so a new
        member is a plain migration on both backends).

    """
    return sa.Enum(
        enum_class,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=max(len(member.value) for member in enum_class),
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )

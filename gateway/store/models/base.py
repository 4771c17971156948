"""Declarative base shared by every table of the local store."""

from __future__ import annotations

from typing import cast

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase

# Deterministic constraint names, so that migrations can refer to them and
# ``alembic check`` compares like with like on both backends.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base class of the ORM models; its ``metadata`` is what migrations must produce."""

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


def table_of(model: type[Base]) -> sa.Table:
    """The model's table, for plain Core statements on hot paths (no ORM unit of work)."""
    return cast(sa.Table, model.__table__)

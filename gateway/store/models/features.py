"""A member's own model columns: one row per loan or account, cells as the import validated them.

``model_rows`` holds the columns a feature spec declares (and its target) for each
row the member trains and scores on, as validated text keyed by column name (JSON),
so a book with columns no other member has needs no schema change. The cells are
read again through the spec (:mod:`federated.features.values`) every time they are
used; nothing here leaves the node.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from gateway.store.models.base import Base
from gateway.store.types import UTCDateTime


class ModelRow(Base):
    """One row of the member's model book (``credgate import features``)."""

    __tablename__ = "model_rows"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The row's own reference (the spec's key column, else "<file>:<row number>").
    row_ref: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # Name of the feature spec the cells were validated against.
    spec_name: Mapped[str] = mapped_column(sa.String(100), index=True)
    # JSON object: column name -> cell text (null when the cell was empty).
    cells: Mapped[str] = mapped_column(sa.Text())
    imported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

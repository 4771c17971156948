"""A member's blacklist listings: counting, listing, appeals.

Listings stay at the listing member and count inside the masked subject check
only while live: listed, not expired, and not overturned by an upheld appeal.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from gateway.errors import NotFoundError
from gateway.store.database import Store
from gateway.store.enums import AppealState
from gateway.store.models import BlacklistEntry


def live_condition(today: dt.date | sa.BindParameter[dt.date]) -> sa.ColumnElement[bool]:
    """SQL condition for a listing that counts on ``today``."""
    return sa.and_(
        BlacklistEntry.listed_on <= today,
        BlacklistEntry.expires_on > today,
        BlacklistEntry.appeal_state != AppealState.UPHELD,
    )


def live_listings(store: Store, today: dt.date) -> int:
    """How many listings this member contributes today (reported for reciprocity)."""
    with store.transaction() as session:
        return int(session.scalar(sa.select(sa.func.count()).where(live_condition(today))) or 0)


def set_appeal_state(store: Store, entry_ref: str, state: AppealState) -> None:
    """Record the outcome of an appeal; an upheld appeal removes the listing from every later answer.

    Raises
    ------
    NotFoundError
        When no listing has ``entry_ref``.

    """
    with store.transaction() as session:
        entry = session.scalars(
            sa.select(BlacklistEntry).where(BlacklistEntry.entry_ref == entry_ref)
        ).first()
        if entry is None:
            raise NotFoundError(f"no blacklist listing {entry_ref!r}")
        entry.appeal_state = state

"""Appeals and corrections reach cached answers too (issue #17 item 12).

A listing counts in the masked sums of the checks that saw it, and the bureau answers a
repeated check of the same subject the same day from its cache. When an appeal against a
listing changes its standing, the listing member computes the subject's dedup tags for
the days a cached answer may still be served (yesterday and today, local time) under
every epoch of the members' secret it holds, and asks the bureau to forget every cached
answer with those tags, for every querier. The bureau learns only keyed tags it cannot
link to a person.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from gateway.node.bureau_calls import invalidate_cached_checks
from gateway.node.session import MemberSession
from gateway.queries.subject_check.envelope import dedup_tag
from gateway.store.enums import AppealState
from gateway.store.models import BlacklistEntry, SubjectTokenRecord
from gateway.store.repositories.blacklist import set_appeal_state


def record_appeal(session: MemberSession, entry_ref: str, state: AppealState) -> int:
    """Record the appeal's state and withdraw cached answers that counted the listing.

    Returns the number of cached rows the bureau removed.

    Raises
    ------
    NotFoundError
        When no listing has ``entry_ref``.
    GatewayError
        When the bureau cannot be reached (the appeal is recorded all the same).

    """
    set_appeal_state(session.store, entry_ref, state)
    with session.store.transaction() as db:
        borrower = db.scalars(
            sa.select(BlacklistEntry.borrower_id).where(BlacklistEntry.entry_ref == entry_ref)
        ).one()
        tokens = set(
            db.scalars(sa.select(SubjectTokenRecord.token).where(SubjectTokenRecord.borrower_id == borrower))
        )
    today = session.clock().astimezone(session.check_settings.zone).date()
    days = (today - dt.timedelta(days=1), today)
    tags = [
        dedup_tag(session.secrets.get(epoch), token, day)
        for epoch in session.secrets.epochs
        for token in sorted(tokens)
        for day in days
    ]
    return invalidate_cached_checks(session.channel, tags[:64]) if tags else 0

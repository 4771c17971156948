"""The collection-conduct feeds of the regulator report, read from a member's own store.

* ``contacts_prevented``: the member's clearance log (``contact_clearances``), one observation
  per debtor and refusing rule;
* ``complaints``: complaints received at this member (not copies of another member's), one
  observation per complaint — category, grade, and whether it was handled within its clocks
  as of the end of the period (or now, for a period not over);
* ``conduct_flags``: this node's conduct screening, one observation per debtor (or screened
  source, when no account is known) and rule.

The privacy unit stays the borrower: the template's contribution bounds apply as for every
other feed (``gateway.reports.histograms``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping

from gateway.complaints.book import sla_status
from gateway.reports.templates import Feed
from gateway.store.database import Store
from gateway.store.enums import ClearanceDecision
from gateway.store.repositories.complaints import ComplaintRepository
from gateway.store.repositories.conduct import ConductRepository
from gateway.store.repositories.contact_member import ClearanceLog

__all__ = ["CONDUCT_FEEDS", "conduct_observations"]

CONDUCT_FEEDS = frozenset({Feed.CONTACTS_PREVENTED, Feed.COMPLAINTS, Feed.CONDUCT_FLAGS})


def conduct_observations(
    feed: Feed, store: Store, start: dt.datetime, end: dt.datetime, *, as_of: dt.datetime
) -> Iterator[tuple[object, Mapping[str, str]]]:
    """``(privacy unit, cell values)`` of every observation of ``feed`` in ``[start, end)``."""
    if feed is Feed.CONTACTS_PREVENTED:
        for borrower, decision in ClearanceLog(store).decisions(start, end):
            if decision is not ClearanceDecision.GRANTED:
                yield ("borrower", borrower), {"prevented_by": decision.value}
    elif feed is Feed.COMPLAINTS:
        moment = min(as_of, end)
        for record in ComplaintRepository(store).received_between(start, end):
            if not record.counted_here:
                continue
            unit = (
                ("borrower", record.borrower_id)
                if record.borrower_id is not None
                else ("complaint", record.complaint_ref)
            )
            yield (
                unit,
                {
                    "complaint_category": record.category.value,
                    "complaint_grade": record.grade.value,
                    "sla": sla_status(record, moment).value,
                },
            )
    elif feed is Feed.CONDUCT_FLAGS:
        for flag in ConductRepository(store).flags(start, end):
            unit = (
                ("borrower", flag.borrower_id)
                if flag.borrower_id is not None
                else ("source", flag.source_ref)
            )
            yield unit, {"conduct_rule": flag.rule}

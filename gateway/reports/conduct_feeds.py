"""The collection-conduct feeds of the regulator report, read from a member's own store.

* ``contacts_prevented``: the member's clearance log (``contact_clearances``), one observation
  per debtor and refusing rule;
* ``complaints``: complaints received at this member (not copies of another member's), one
  observation per complaint — category, grade, and whether it was handled within its clocks
  as of the end of the period (or now, for a period not over);
* ``conduct_flags``: this node's conduct screening, one observation per debtor (or screened
  source, when no account is known) and rule.

Each observation names the member's local borrower id it concerns, or ``None`` when it
concerns no known borrower (a complaint or a screened source with no account). The privacy
unit is the person (issue #13): ``gateway.reports.histograms`` keys each borrower by its
person token and leaves out observations with no borrower, which cannot be bounded per person.
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
) -> Iterator[tuple[int | None, Mapping[str, str]]]:
    """``(local borrower id or None, cell values)`` of every observation of ``feed`` in ``[start, end)``."""
    if feed is Feed.CONTACTS_PREVENTED:
        for borrower, decision in ClearanceLog(store).decisions(start, end):
            if decision is not ClearanceDecision.GRANTED:
                yield borrower, {"prevented_by": decision.value}
    elif feed is Feed.COMPLAINTS:
        moment = min(as_of, end)
        for record in ComplaintRepository(store).received_between(start, end):
            if not record.counted_here:
                continue
            yield (
                record.borrower_id,
                {
                    "complaint_category": record.category.value,
                    "complaint_grade": record.grade.value,
                    "sla": sla_status(record, moment).value,
                },
            )
    elif feed is Feed.CONDUCT_FLAGS:
        for flag in ConductRepository(store).flags(start, end):
            yield flag.borrower_id, {"conduct_rule": flag.rule}

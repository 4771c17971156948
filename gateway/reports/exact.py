"""Exact, un-noised sums over several members' stores: the ground truth releases are compared with.

Only a test bench or a benchmark, holding every member's synthetic store, can compute these;
no node ever reads another member's store. The multi-lender histogram is joined on raw
resident IDs here, which is exactly what the pseudonym join avoids in the protocol.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping

import numpy as np
import sqlalchemy as sa

from gateway.policy.contact_rules import ContactRules
from gateway.reports.histograms import Counts, Period, active_borrowers, compute_histograms
from gateway.reports.templates import Feed, ReportTemplate
from gateway.roles import Role
from gateway.store.database import open_store
from gateway.store.models import Borrower

__all__ = ["exact_counts"]


def exact_counts(
    members: Mapping[str, Role],
    store_urls: Mapping[str, str],
    template: ReportTemplate,
    period: Period,
    *,
    contact_rules: ContactRules,
    now: dt.datetime,
) -> dict[str, Counts]:
    """Every histogram of ``template`` summed exactly over ``members`` (ids → roles)."""
    snapshot = Period.containing(now, template.zone)
    totals = {h.id: np.zeros(template.width(h), dtype=np.int64) for h in template.histograms}
    holders: Counter[str] = Counter()
    for member_id, role in members.items():
        store = open_store(store_urls[member_id])
        try:
            vectors = compute_histograms(
                store, template, period, role=role, snapshot_period=snapshot, contact_rules=contact_rules
            )
            ids = active_borrowers(store, period, snapshot_period=snapshot)
            with store.transaction() as session:
                holders.update(
                    set(session.scalars(sa.select(Borrower.resident_id).where(Borrower.id.in_(ids))))
                )
        finally:
            store.close()
        for histogram_id, vector in vectors.items():
            totals[histogram_id] += vector
    for histogram in template.histograms:
        if histogram.feed is Feed.LENDERS_PER_BORROWER:
            dimension = template.dimensions[histogram.dimensions[0]]
            for count in holders.values():
                totals[histogram.id][dimension.bucket(count)] += 1
    return totals

"""Exact, un-noised sums over several members' stores: the ground truth releases are compared with.

Only a test bench or a benchmark, holding every member's synthetic store, can compute these;
no node ever reads another member's store. The same rules as the protocol apply: persons are
keyed by token at each member, a person counted at more than ``max_members_per_person``
members is left out (exactly here, by person; the protocol decides by keyed bucket, which can
only leave out a few more), and lenders per borrower are counted person by person, which is
exactly what the holders count hides from everyone.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping

import numpy as np

from gateway.policy.contact_rules import ContactRules
from gateway.reports.histograms import Counts, Period, PersonKeys, compute_histograms, persons_counted
from gateway.reports.templates import Feed, ReportTemplate
from gateway.roles import Role
from gateway.store.database import open_store
from gateway.store.enums import TokenType
from gateway.store.repositories.tokens import SubjectTokens

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
    tokens: dict[str, dict[int, bytes]] = {}
    counting: Counter[bytes] = Counter()
    lending: Counter[bytes] = Counter()
    for member_id, role in members.items():
        store = open_store(store_urls[member_id])
        try:
            repository = SubjectTokens(store)
            tokens[member_id] = repository.token_by_borrower(
                TokenType.RESIDENT_ID, repository.latest_epoch(TokenType.RESIDENT_ID)
            )
            persons = persons_counted(
                store,
                template,
                period,
                role=role,
                snapshot_period=snapshot,
                persons=PersonKeys(tokens[member_id]),
                contact_rules=contact_rules,
                as_of=now,
            )
        finally:
            store.close()
        counting.update(persons)
        lending.update(token for token, lends in persons.items() if lends)
    limit = template.release.max_members_per_person
    totals = {h.id: np.zeros(template.width(h), dtype=np.int64) for h in template.histograms}
    for member_id, role in members.items():
        store = open_store(store_urls[member_id])
        try:
            vectors = compute_histograms(
                store,
                template,
                period,
                role=role,
                snapshot_period=snapshot,
                persons=PersonKeys(tokens[member_id], lambda token: counting[token] <= limit),
                contact_rules=contact_rules,
                as_of=now,
            )
        finally:
            store.close()
        for histogram_id, vector in vectors.items():
            totals[histogram_id] += vector
    for histogram in template.histograms:
        if histogram.feed is Feed.LENDERS_PER_BORROWER:
            dimension = template.dimensions[histogram.dimensions[0]]
            for count in lending.values():
                totals[histogram.id][dimension.bucket(count)] += 1
    return totals

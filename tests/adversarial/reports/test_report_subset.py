"""The bureau opening a report sum over a subset it chose (finding 3): it gets nothing.

Report sums carried no querier mask, so the bureau could run an attempt over S, claim member m
dropped, re-run over S∖{m} and subtract: m's histogram, at the noise of one release. Now each
member adds a self-mask it reveals for at most one attempt per request and phase — the last it
answered — so once S∖{m} is opened, no member of S∖{m} will open S, and S's sum stays masked.
"""

from __future__ import annotations

import numpy as np
import pytest
from stat_bounds import binomial_limit

from gateway.aggregation import sum_contributions
from gateway.aggregation.field import P, sub
from gateway.aggregation.self_mask import self_mask
from gateway.errors import PolicyDenied
from gateway.queries.reports.messages import OpenRequest, Phase, ShareLayout
from gateway.reports.release import plan_release

from .conftest import ReportWorld

pytestmark = pytest.mark.slow

MEMBERS = ("agency-1", "bank-1", "bank-2", "bank-3", "cfc-1")
DROPPED = "bank-2"


def test_a_sum_over_the_set_less_one_member_cannot_be_set_against_the_full_set(world: ReportWorld) -> None:
    order = world.order("reg-subset", "monthly-delinquency")
    round_ = world.bureau_round(order)
    coordinator, caller, views = world.coordinator(), world.caller(), world.views()
    coordinator._phase(round_, Phase.HOLDERS, views, MEMBERS)
    survivors = tuple(m for m in MEMBERS if m != DROPPED)
    full = world.share_request(order, Phase.COUNTS, 1, MEMBERS)
    less = world.share_request(order, Phase.COUNTS, 2, survivors)
    width = ShareLayout.for_plan(
        round_.template, plan_release(round_.template, answering=5), Phase.COUNTS
    ).width
    narrow = ShareLayout.for_plan(
        round_.template, plan_release(round_.template, answering=4), Phase.COUNTS
    ).width

    # The bureau collects attempt 1 from everyone, "loses" bank-2, and runs attempt 2 without it.
    first = {m: caller.share(views[m], full, width=width, timeout=60) for m in MEMBERS}
    second = {m: caller.share(views[m], less, width=narrow, timeout=60) for m in survivors}
    seeds = {
        m: caller.open(
            views[m], OpenRequest(less.request_hash, Phase.COUNTS, 2, less.answering_set_hash), timeout=60
        )
        for m in survivors
    }
    opened = sum_contributions(list(second.values()))
    for seed in seeds.values():
        opened = sub(opened, self_mask(seed, opened.shape))

    # Attempt 1 can be opened only by the member that answered no later attempt.
    refused = 0
    attempt_one = sum_contributions(list(first.values()))
    for member in MEMBERS:
        try:
            seed = caller.open(
                views[member],
                OpenRequest(full.request_hash, Phase.COUNTS, 1, full.answering_set_hash),
                timeout=60,
            )
        except PolicyDenied as exc:
            assert exc.reason == "open_refused"
            refused += 1
            continue
        attempt_one = sub(attempt_one, self_mask(seed, attempt_one.shape))
    assert refused == len(survivors)

    # What the bureau would take for bank-2's vector: attempt 1's sum less attempt 2's (their
    # layouts agree on the counts part). The survivors' self-masks are still in attempt 1, so
    # it is uniform on [0, p): a residue falls within 2^48 of 0 or p with probability
    # q = 2^49 / p, so the number that do is Binomial(N, q) (N = 324, mean 0.08) and stays below
    # ``limit`` except with 1e-7. A real difference (the mutation: members open any attempt)
    # is bank-2's counts plus noise, every value of it in those bands.
    cells = round_.template.width(round_.template.histograms[0])
    difference = sub(attempt_one[:cells], opened[:cells])
    small = (difference < 2**48) | (difference > P - 2**48)
    assert int(small.sum()) < binomial_limit(cells, 2 * 2**48 / P)
    assert np.count_nonzero(small) < cells

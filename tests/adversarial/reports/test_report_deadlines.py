"""A member's calls back to the bureau inside a report round live as long as the round allows.

Seen under load (NOTES, from the lead): a member's call back to the bureau inside a round had a
fixed 5 s timeout while the round gave the member 60 s, so it timed out and the member was
dropped. Every member→bureau call made while answering a round (the holders vector, the
opened sum, a directory refresh) now takes the time the bureau's call to the member has left
(``gateway.rpc.deadline``). The test compares deadlines, not durations: each call the bureau
receives from a member must end when that member's enclosing ``ComputeReportShare`` ends, less
the small margin kept to send the answer — never earlier (a fixed 5 s) nor later (a fixed
120 s that outlives the round).
"""

from __future__ import annotations

import pytest
from integration.recording import Recorded

from .conftest import ReportWorld

pytestmark = pytest.mark.slow

# gateway.rpc.deadline keeps at most 1 s of the member's time to send its answer, so a call
# back to the bureau ends 0–1 s before the member's own. The recorders read each deadline as
# time.time() + time_remaining(), two readings a loaded machine may pull apart by seconds: 10 s
# of slack either side. A fixed 5 s timeout ends about 55 s early (the round gives 60 s) and a
# fixed 120 s one about 60 s late, far outside [-11 s, +10 s].
MARGIN_SECONDS = 1.0
SLACK_SECONDS = 10.0
INNER_CALLS = ("ContributeReportVector", "FetchReportVector")


def _enclosing(shares: list[Recorded], call: Recorded) -> Recorded:
    """The member's share call that was being answered when it called the bureau."""
    before = [s for s in shares if s.at <= call.at]
    assert before, (call.method, call.peer)
    return before[-1]


def test_member_calls_to_the_bureau_inside_a_round_take_the_rounds_remaining_deadline(
    world: ReportWorld,
) -> None:
    seen = {m: len(world.bureau_recorder.calls(method=m)) for m in INNER_CALLS}
    shares_seen = {m: len(r.calls(method="ComputeReportShare")) for m, r in world.member_recorders.items()}

    report = world.request("reg-deadline", "monthly-delinquency")

    assert report.release.answering_members == len(world.members)
    shares = {
        m: r.calls(method="ComputeReportShare")[shares_seen[m] :] for m, r in world.member_recorders.items()
    }
    inner = [call for m in INNER_CALLS for call in world.bureau_recorder.calls(method=m)[seen[m] :]]
    # Phase 3 streams one holders vector per member; phases 1 and 2 fetch the opened sum.
    assert {c.peer for c in inner if c.method.endswith("ContributeReportVector")} == set(world.members)
    assert {c.peer for c in inner if c.method.endswith("FetchReportVector")} == set(world.members)
    for call in inner:
        enclosing = _enclosing(shares[call.peer], call)
        assert call.deadline is not None and enclosing.deadline is not None
        early, late = MARGIN_SECONDS + SLACK_SECONDS, SLACK_SECONDS
        assert enclosing.deadline - early <= call.deadline <= enclosing.deadline + late, (
            call.method,
            call.peer,
            enclosing.deadline - call.deadline,
        )

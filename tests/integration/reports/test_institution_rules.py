"""Eight members: the institution-count and dominance gates run inside the masked sums (two phases)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gateway.clock import LOCAL_ZONE, local_date, system_clock
from gateway.config import Settings
from gateway.demo.provision import BUREAU_ID
from gateway.identity.peer import Role
from gateway.node.book_tokens import tokenise_book
from gateway.node.ceremony import run_ceremony
from gateway.node.runtime import RunningNode, start_bureau, start_member
from gateway.node.session import member_session
from gateway.queries.reports.client import RegulatorClient
from gateway.reports.histograms import Period
from gateway.reports.release import SuppressionReason
from gateway.synth import Composition, SynthOptions, generate_consortium, write_consortium

from ..recording import RecordingInterceptor
from ..subject_check.conftest import _import_book

pytestmark = pytest.mark.slow

COMPOSITION = Composition(bank=5, consumer_finance=1, micro_lender=1, agency=1)


@pytest.fixture
def eight_members(
    provision: Callable[..., Settings], tmp_path: Path
) -> Iterator[tuple[RunningNode, dict[str, RecordingInterceptor], Settings, str]]:
    # The books and the period asked for come from one reading of the clock: a period taken when
    # the module was collected is a month older than books made after a month end (shifted CI).
    now = system_clock()
    period = str(Period.containing(now, LOCAL_ZONE).before(1))
    options = SynthOptions(people=800, seed=11, composition=COMPOSITION, as_of=local_date(now))
    synthetic = generate_consortium(options)
    write_consortium(synthetic, tmp_path / "books")
    bureau = start_bureau(provision(BUREAU_ID, Role.BUREAU))
    members: list[RunningNode] = []
    recorders: dict[str, RecordingInterceptor] = {}
    try:
        for data in synthetic.members:
            member = data.member
            settings = provision(member.member_id, member.role, bureau_address=bureau.address)
            _import_book(settings, tmp_path / "books" / member.member_id)
            recorders[member.member_id] = RecordingInterceptor()
            members.append(start_member(settings, interceptors=[recorders[member.member_id]]))
        for node in members:
            assert node.link is not None and node.link.registered.wait(15)
        with member_session(members[0].settings) as session:
            # The members' secret (phase 3 keys its buckets with it), made by the members.
            _, delivered, failed = run_ceremony(session)
            assert (len(delivered), failed) == (len(members) - 1, [])
        for node in members:
            with member_session(node.settings) as session:
                tokenise_book(session.store, session.tokeniser, now=system_clock())
        yield bureau, recorders, provision("cbirc", Role.REGULATOR, bureau_address=bureau.address), period
    finally:
        for node in members:
            node.stop()
        bureau.stop()


def test_gates_are_computed_in_a_second_masked_phase_and_suppress_cells(
    eight_members: tuple[RunningNode, dict[str, RecordingInterceptor], Settings, str],
) -> None:
    _, recorders, regulator, period = eight_members

    with member_session(regulator) as session:
        report = RegulatorClient.for_session(session).request("monthly-risk", period)

    release = report.release
    assert release.answering_members == 8 and release.institution_rules_applied
    assert release.rho == pytest.approx(0.014 + 5 * 0.001)
    phases = {
        member_id: sorted(
            m.phase for m in recorder.messages(method="ComputeReportShare", direction="received")
        )
        for member_id, recorder in recorders.items()
    }
    assert all(p == [1, 2, 3] for p in phases.values()), phases  # 3: the holders count, first
    reasons = {r for h in release.histograms for c in h.cells for r in c.reasons}
    assert SuppressionReason.FEW_INSTITUTIONS in reasons
    multi = next(h for h in release.histograms if h.histogram_id == "lenders_per_borrower")
    assert all(SuppressionReason.FEW_INSTITUTIONS not in c.reasons for c in multi.cells)
    assert json.dumps(release.to_json())  # the cached form round-trips

"""The bureau, playing curious: it receives and keeps only masked vectors and noised sums and
releases — never a member's figures or an exact total (the holders count: tests/adversarial)."""

from __future__ import annotations

import numpy as np
import pytest
import sqlalchemy as sa
from stat_bounds import binomial_limit, skellam_at_exactly

from gateway.aggregation.field import P as FIELD_PRIME
from gateway.aggregation.field import encode
from gateway.queries.reports.board import RoundJournal
from gateway.queries.reports.messages import Phase, ShareLayout
from gateway.reports.budget import ReleaseCache
from gateway.reports.release import plan_release
from gateway.store import open_store
from gateway.store.models.tokens import SubjectTokenRecord

from ..subject_check.conftest import MEMBERS, Consortium
from .conftest import Regulator, true_counts

pytestmark = pytest.mark.slow


def _shares(world: Consortium) -> dict[str, list[np.ndarray]]:
    """Every report vector each member sent the bureau, as the bureau received it."""
    return {
        member_id: [
            np.asarray(m.share.values, dtype=np.uint64)
            for m in recorder.messages(method="ComputeReportShare", direction="sent")
        ]
        for member_id, recorder in world.member_recorders.items()
    }


def _pseudonyms(world: Consortium) -> list[set[bytes]]:
    """The pseudonyms the bureau received, one set per report request."""
    by_request: dict[bytes, set[bytes]] = {}
    for message in world.bureau_recorder.messages(method="ContributePseudonyms", direction="received"):
        by_request.setdefault(message.request_hash, set()).update(message.pseudonyms)
    return list(by_request.values())


def _member_tokens(world: Consortium) -> set[bytes]:
    tokens: set[bytes] = set()
    for member_id in MEMBERS:
        store = open_store(world.settings[member_id].store_url)
        try:
            with store.transaction() as session:
                tokens.update(session.scalars(sa.select(SubjectTokenRecord.token)))
        finally:
            store.close()
    return tokens


def test_member_vectors_reach_the_bureau_masked(consortium: Consortium, regulator: Regulator) -> None:
    report = regulator.request("monthly-risk")

    shares = _shares(consortium)
    own = true_counts(consortium, report.template, members=("bank-1",))
    exact = encode(np.concatenate([own[h.id] for h in report.template.histograms]))
    values = np.concatenate([v for vectors in shares.values() for v in vectors])  # every attempt
    assert all(vectors for vectors in shares.values()) and values.size > 1000
    # Masked residues are uniform on [0, p), p = 2^61 - 1. A member's own count or noise share
    # would be tiny, or just below p when negative: a uniform residue falls in either band of
    # width 2^48 with probability q = 2^49 / p, so the number in the bands is Binomial(N, q)
    # (N ≈ 1,900, mean 0.46) and stays below ``limit`` (8) except with 1e-7. Unmasked vectors
    # (the mutation: masks set to zero) put every value in the bands.
    small = (values < 2**48) | (values > FIELD_PRIME - 2**48)
    assert int(small.sum()) < binomial_limit(values.size, 2 * 2**48 / FIELD_PRIME)
    assert not np.array_equal(shares["bank-1"][0][: exact.size], exact)


def test_bureau_keeps_only_noised_releases(consortium: Consortium, regulator: Regulator) -> None:
    report = regulator.request("monthly-risk")

    bureau_dir = consortium.bureau.settings.data_dir
    cached = ReleaseCache.in_data_dir(bureau_dir).all()
    assert [release for release in cached] == [report.release]
    # What the bureau opened: its round journal keeps the phase-1 noisy sums (no exact total).
    journal = RoundJournal.in_data_dir(bureau_dir)
    request_hash = next(p.stem for p in (bureau_dir / "reports" / "rounds").glob("*.json"))
    state = journal.phase(bytes.fromhex(request_hash), int(Phase.COUNTS))
    assert state is not None and state.opened is not None
    plan = plan_release(report.template, answering=len(state.participants))
    parts = ShareLayout.for_plan(report.template, plan, Phase.COUNTS).unpack(
        np.asarray(state.opened, dtype=np.int64)
    )
    truth = true_counts(consortium, report.template)
    cells = [
        (int(true), int(noisy), plan.histograms[h.id].counts.total_variance)
        for h in report.template.histograms
        if h.id != "lenders_per_borrower"
        for true, noisy in zip(truth[h.id], parts[(h.id, "counts")], strict=True)
    ]
    # An opened cell is its true count plus the sum of the members' Skellam shares, one
    # independent Skellam of the plan's variance per cell; it equals the truth only when that
    # noise is 0, with probability at most q (the largest P(X = 0) over the variances),
    # independently per cell: fewer than ``limit`` such cells except with 1e-7 (binomial tail).
    # Exact sums (the mutation: no noise shares) equal the truth in every cell.
    q = max(skellam_at_exactly(0, variance) for _, _, variance in cells)
    limit = binomial_limit(len(cells), q)
    assert len(cells) >= 2 * limit
    assert sum(noisy == true for true, noisy, _ in cells) < limit

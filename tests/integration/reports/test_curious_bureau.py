"""The bureau, playing curious: it receives and keeps only masked vectors, unlinkable
pseudonyms and noised releases — never a member's figures or an exact total."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import sqlalchemy as sa

from gateway.aggregation.field import encode
from gateway.reports.budget import ReleaseCache
from gateway.store import open_store
from gateway.store.models.tokens import SubjectTokenRecord

from ..subject_check.conftest import MEMBERS, Consortium
from .conftest import Regulator, stored_bytes, true_counts

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
    values = np.concatenate([v for vectors in shares.values() for v in vectors])
    assert all(len(vectors) == 1 for vectors in shares.values())  # one phase, one attempt
    # Masked residues are uniform below 2^61 - 1: a count or noise share would be tiny (or
    # near the top, when negative). Fewer than 1 in 10^4 uniform values fall in either band.
    small = (values < 2**48) | (values > 2**61 - 2**48)
    assert values.size > 1000 and float(small.mean()) < 1e-3
    assert not np.array_equal(shares["bank-1"][0][: exact.size], exact)


def test_pseudonyms_are_not_tokens_and_do_not_link_across_requests(
    consortium: Consortium, regulator: Regulator
) -> None:
    regulator.request("monthly-risk", "2026-10")
    regulator.request("monthly-risk", "2026-09")

    first, second = _pseudonyms(consortium)
    tokens = _member_tokens(consortium)
    assert len(first) > 500 and len(second) > 500
    assert not first & second  # a new key per request: the bureau cannot follow a borrower
    assert not (first | second) & {hashlib.sha256(t).digest() for t in tokens}
    assert not (first | second) & {t[:32] for t in tokens}


def test_bureau_keeps_only_noised_releases(consortium: Consortium, regulator: Regulator) -> None:
    report = regulator.request("monthly-risk")

    bureau_dir = consortium.bureau.settings.data_dir
    cached = ReleaseCache.in_data_dir(bureau_dir).all()
    assert [release for release in cached] == [report.release]
    on_disk = stored_bytes(bureau_dir) + stored_bytes(consortium.bureau.settings.data_dir.parent)
    for pseudonyms in _pseudonyms(consortium):
        assert not any(p in on_disk for p in list(pseudonyms)[:200])  # pseudonyms live in memory only
    truth = true_counts(consortium, report.template)
    released = {
        (h.histogram_id, i): c.noisy_count
        for h in report.release.histograms
        for i, c in enumerate(h.cells)
        if c.noisy_count is not None
    }
    matches = sum(int(truth[h][i]) == value for (h, i), value in released.items() if h in truth)
    assert matches < 0.15 * len(released)  # noised, not the members' exact totals

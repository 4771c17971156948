"""The bureau and the lenders-per-borrower count (finding 6): it never sees who holds whom.

Before issue #13 members sent the bureau keyed pseudonyms of their borrowers, so it saw which
members held each borrower and every pairwise overlap of their books. Now members add their
holders into keyed buckets under pairwise masks, self-masks and a mask only members hold; the
bureau can neither read the sum it opens nor alter it unnoticed.
"""

from __future__ import annotations

import grpc
import numpy as np
import pytest
from stat_bounds import binomial_limit

from gateway._proto.credgate.v1 import regulator_report_pb2
from gateway.node.bureau_client import BureauClient
from gateway.queries.reports.board import RoundJournal
from gateway.queries.reports.messages import Phase
from gateway.rpc.convert.reports import share_request_to_proto

from .conftest import ReportWorld, rpc_code

pytestmark = pytest.mark.slow

MEMBERS = ("agency-1", "bank-1", "bank-2", "bank-3", "cfc-1")


def _streamed(world: ReportWorld) -> np.ndarray:
    """Every word of every holders vector members streamed to the bureau."""
    chunks = [
        m.chunk.words
        for m in world.bureau_recorder.messages(method="ContributeReportVector", direction="received")
    ]
    return np.frombuffer(b"".join(chunks), dtype="<u2")


def test_the_bureau_sees_only_uniform_words_and_keeps_no_pseudonym(world: ReportWorld) -> None:
    order = world.order("reg-holders", "monthly-delinquency")
    round_ = world.bureau_round(order)
    world.coordinator()._phase(round_, Phase.HOLDERS, world.views(), MEMBERS)

    words, _, members = RoundJournal.in_data_dir(world.bureau.settings.data_dir).holders(round_.request_hash)
    opened = np.frombuffer(words, dtype="<u2")
    streamed = _streamed(world)
    assert members == MEMBERS and opened.size == round_.template.holders_buckets
    # The true count is sparse: about 2,500 persons in 2^21 buckets, so more than 99 % of its
    # words are 0. Under a uniform mask a word is 0 with probability 2^-16, independently, so
    # the zeros are Binomial(N, 2^-16) and stay below ``limit`` except with 1e-7 — for the
    # opened sum (N = 2^21) and for everything members streamed. Without the members-only mask
    # (the mutation) the opened sum is the count itself and almost every word is 0.
    assert int(np.count_nonzero(opened == 0)) < binomial_limit(opened.size, 2**-16)
    assert int(np.count_nonzero(streamed == 0)) < binomial_limit(streamed.size, 2**-16)


def test_members_refuse_a_holders_count_the_bureau_altered(world: ReportWorld) -> None:
    # The bureau lowers every bucket by one, so that persons held at one member more than the
    # release allows would be counted (and the k² bound broken). It cannot fix the check value
    # without the members' check vector.
    order = world.order("reg-tamper", "monthly-delinquency")
    round_ = world.bureau_round(order)
    world.coordinator()._phase(round_, Phase.HOLDERS, world.views(), MEMBERS)
    journal = RoundJournal.in_data_dir(world.bureau.settings.data_dir)
    words, check, members = journal.holders(round_.request_hash)
    altered = (np.frombuffer(words, dtype="<u2").astype(np.uint16) - np.uint16(256)).astype(np.uint16)
    journal.save_holders(round_.request_hash, altered, check, members)

    request = world.share_request(order, Phase.COUNTS, 1, MEMBERS)
    with pytest.raises(grpc.RpcError) as refused:
        world.as_bureau("bank-1").ComputeReportShare(share_request_to_proto(request), timeout=60)

    assert rpc_code(refused.value) is grpc.StatusCode.FAILED_PRECONDITION
    assert "check value" in refused.value.details()  # type: ignore[attr-defined]


def test_the_bureau_no_longer_accepts_pseudonyms(world: ReportWorld) -> None:
    identity = world.bureau_identity()
    del identity
    settings = world.settings["bank-1"]
    from gateway.identity.tls import TLSIdentity

    client = BureauClient(
        TLSIdentity.from_settings(settings.tls), world.bureau.address, bureau_member_id="bureau", egress=None
    )
    try:
        request = regulator_report_pb2.ContributePseudonymsRequest(
            request_hash=b"\x01" * 32, pseudonyms=[b"\x02" * 32]
        )
        with pytest.raises(grpc.RpcError) as refused:
            client._stub.ContributePseudonyms(iter([request]), timeout=30)
        assert rpc_code(refused.value) is grpc.StatusCode.PERMISSION_DENIED
    finally:
        client.close()

"""The bureau minting regulators: a member charges only a regulator its certificate names.

The bureau chooses what it sends members; before issue #13 the ledger was keyed on the
``regulator_member_id`` string as the bureau sent it, so made-up ids got fresh budgets
(finding 2), and any string — empty, a bank's id, a NUL — was charged (issue #17 item 2).
"""

from __future__ import annotations

import os

import grpc
import pytest

from gateway._proto.credgate.v1 import common_pb2, regulator_report_pb2
from gateway.aggregation import answering_set_hash
from gateway.rpc.convert.subject_check import ALGORITHMS, timestamp

from .conftest import PERIOD, ReportWorld, all_charges

pytestmark = pytest.mark.slow

MEMBER_IDS = ("agency-1", "bank-1", "bank-2", "bank-3", "cfc-1")


def _minted_request(regulator: str) -> regulator_report_pb2.ComputeReportShareRequest:
    """A phase-1 request as the bureau can make it alone: any regulator string, no regulator's signature."""
    from gateway.clock import system_clock

    header = common_pb2.RequestHeader(
        idempotency_key=os.urandom(16),
        query_time=timestamp(system_clock()),
        vector_layout_version=1,
        algorithms=ALGORITHMS,
        attempt=1,
    )
    return regulator_report_pb2.ComputeReportShareRequest(
        header=header,
        template_id="monthly-delinquency",
        period=PERIOD,
        request_hash=os.urandom(32),
        answering_set_hash=answering_set_hash(MEMBER_IDS),
        answering_member_ids=list(MEMBER_IDS),
        regulator_member_id=regulator,
        phase=1,
    )


@pytest.mark.parametrize("regulator", ["", "bank-1", "\x00", "regulator-minted-by-the-bureau"])
def test_member_refuses_a_regulator_no_certificate_names_and_charges_nothing(
    world: ReportWorld, regulator: str
) -> None:
    stub = world.as_bureau("bank-1")
    before = all_charges(world, "bank-1")

    with pytest.raises(grpc.RpcError) as refused:
        stub.ComputeReportShare(_minted_request(regulator), timeout=60)

    assert refused.value.code() in {  # type: ignore[attr-defined]
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.UNAUTHENTICATED,
    }
    assert all_charges(world, "bank-1") == before

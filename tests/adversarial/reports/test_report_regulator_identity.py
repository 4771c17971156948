"""The bureau minting regulators: a member charges only a regulator its certificate names.

The bureau chooses what it sends members; before issue #13 the ledger was keyed on the
``regulator_member_id`` string as the bureau sent it, so made-up ids got fresh budgets
(finding 2), and any string — empty, a bank's id, a NUL — was charged (issue #17 item 2).
"""

from __future__ import annotations

import os
import ssl
from typing import Any

import grpc
import pytest

from gateway._proto.credgate.v1 import common_pb2, regulator_report_pb2
from gateway.aggregation import answering_set_hash
from gateway.identity.tls import TLSIdentity
from gateway.reports.order import ReportOrder, SignedOrder, sign_order
from gateway.rpc.convert.subject_check import ALGORITHMS, timestamp

from .conftest import PERIOD, ReportWorld, all_charges, rpc_code

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


def _signed_by(world: ReportWorld, settings: Any, template_id: str = "monthly-delinquency") -> SignedOrder:
    identity = TLSIdentity.from_settings(settings.tls)
    order = ReportOrder(template_id, PERIOD, os.urandom(16))
    return SignedOrder(
        order,
        sign_order(order, identity.key_pem),
        ssl.PEM_cert_to_DER_cert(identity.cert_pem.decode("ascii")),
    )


def _proto_for(
    world: ReportWorld, signed: SignedOrder, regulator: str
) -> regulator_report_pb2.ComputeReportShareRequest:
    from gateway.reports.order import request_hash

    message = _minted_request(regulator)
    message.request_hash = request_hash(signed.order, regulator, 2)
    message.header.vector_layout_version = 2
    message.order_nonce = signed.order.nonce
    message.order_signature = signed.signature
    message.regulator_certificate = signed.certificate_der
    message.phase = 3
    return message


def test_an_order_signed_by_a_bank_is_not_a_regulators_and_charges_nothing(world: ReportWorld) -> None:
    before = all_charges(world, "bank-2")
    signed = _signed_by(world, world.settings["bank-1"])

    with pytest.raises(grpc.RpcError) as refused:
        world.as_bureau("bank-2").ComputeReportShare(_proto_for(world, signed, "bank-1"), timeout=60)

    assert rpc_code(refused.value) is grpc.StatusCode.PERMISSION_DENIED
    assert all_charges(world, "bank-2") == before


def test_a_regulators_order_cannot_be_charged_to_another_regulator(world: ReportWorld) -> None:
    signed = _signed_by(world, world.regulator("reg-real"))
    world.regulator("reg-other")

    with pytest.raises(grpc.RpcError) as refused:
        world.as_bureau("bank-2").ComputeReportShare(_proto_for(world, signed, "reg-other"), timeout=60)

    assert rpc_code(refused.value) is grpc.StatusCode.INVALID_ARGUMENT
    assert not [c for c in all_charges(world, "bank-2") if c.regulator in {"reg-real", "reg-other"}]

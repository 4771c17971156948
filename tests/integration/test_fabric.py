"""Bureau and members on real mTLS sockets (127.0.0.1, OS-chosen ports)."""

from __future__ import annotations

import time
from collections.abc import Callable

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from gateway._proto.credgate.v1 import bureau_pb2, bureau_pb2_grpc, member_pb2_grpc, subject_check_pb2
from gateway.bureau import MemberView
from gateway.identity.peer import Role
from gateway.identity.tls import TLSIdentity
from gateway.node.bureau_client import BureauClient
from gateway.node.runtime import RunningNode
from gateway.rpc.channel import open_channel
from gateway.rpc.options import MAX_MESSAGE_BYTES
from gateway.rpc.status import reason_of
from gateway.store.repositories.audit import AuditLog

StartMember = Callable[..., RunningNode]


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def directory_as(node: RunningNode, bureau: RunningNode) -> list[MemberView]:
    client = BureauClient(node.identity, bureau.address, bureau_member_id="bureau", egress=None)
    try:
        return client.directory()[0]
    finally:
        client.close()


def test_members_register_and_send_heartbeats(bureau: RunningNode, start_members: StartMember) -> None:
    bank = start_members("bank-1", Role.BANK)
    agency = start_members("agency-1", Role.AGENCY)

    assert bank.link is not None and bank.link.registered.wait(10)
    assert agency.link is not None and agency.link.registered.wait(10)
    wait_for(lambda: all(m.last_seen_at for m in directory_as(bureau, bureau)))

    members = {m.member_id: m for m in directory_as(bureau, bureau)}
    assert set(members) == {"bank-1", "agency-1"}
    assert members["agency-1"].role is Role.AGENCY
    assert members["bank-1"].address == bank.address
    first_seen = members["bank-1"].last_seen_at
    assert first_seen is not None
    wait_for(lambda: (directory_as(bureau, bureau)[1].last_seen_at or first_seen) > first_seen)


def test_members_do_not_see_who_is_online(bureau: RunningNode, start_members: StartMember) -> None:
    bank = start_members("bank-1")
    assert bank.link is not None and bank.link.registered.wait(10)

    seen_by_member = directory_as(bank, bureau)
    seen_by_bureau = directory_as(bureau, bureau)

    assert [m.member_id for m in seen_by_member] == ["bank-1"]
    assert seen_by_member[0].last_seen_at is None
    assert seen_by_bureau[0].last_seen_at is not None


def test_identity_comes_from_certificate_not_from_claims(
    bureau: RunningNode, start_members: StartMember
) -> None:
    bank = start_members("bank-1")
    assert bank.link is not None and bank.link.registered.wait(10)
    channel = open_channel(bank.identity, bureau.address, peer_member_id="bureau", egress=None)
    stub = bureau_pb2_grpc.BureauServiceStub(channel)

    response = stub.Register(
        bureau_pb2.RegisterRequest(
            advertised_address="127.0.0.1:9", software_version="x", protocol_version="y"
        ),
        metadata=(("x-credgate-member-id", "bank-2"), ("x-credgate-role", "bureau")),
        timeout=5,
    )

    assert response.member_id == "bank-1"
    assert [m.member_id for m in directory_as(bureau, bureau)] == ["bank-1"]
    channel.close()


def test_member_service_refuses_callers_other_than_the_bureau(
    bureau: RunningNode, start_members: StartMember
) -> None:
    bank1, bank2 = start_members("bank-1"), start_members("bank-2")
    channel = open_channel(bank1.identity, bank2.address, peer_member_id="bank-2", egress=None)
    stub = member_pb2_grpc.MemberServiceStub(channel)

    with pytest.raises(grpc.RpcError) as refused:
        stub.ComputeSubjectVectors(subject_check_pb2.ComputeSubjectVectorsRequest(), timeout=5)

    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert reason_of(refused.value) == "policy_denied"
    denials = [e for e in AuditLog(bank2.store).entries() if e.decision.value == "deny"]
    assert [(e.actor_member_id, e.action) for e in denials] == [
        ("bank-1", "credgate.v1.MemberService/ComputeSubjectVectors")
    ]
    channel.close()


def test_every_decision_is_audited_with_who_what_and_why(
    bureau: RunningNode, start_members: StartMember
) -> None:
    bank = start_members("bank-1")
    assert bank.link is not None and bank.link.registered.wait(10)

    entries = AuditLog(bureau.store).entries()
    register = next(e for e in entries if e.action == "credgate.v1.BureauService/Register")

    assert (register.actor_member_id, register.actor_role, register.decision.value) == (
        "bank-1",
        "bank",
        "allow",
    )
    assert register.reason == "fabric.membership"
    AuditLog(bureau.store).verify_chain()


def test_health_and_reflection_are_served(bureau: RunningNode, start_members: StartMember) -> None:
    bank = start_members("bank-1")
    channel = open_channel(bank.identity, bureau.address, peer_member_id="bureau", egress=None)

    health = health_pb2_grpc.HealthStub(channel).Check(
        health_pb2.HealthCheckRequest(service="credgate.v1.BureauService"), timeout=5
    )
    listing = next(
        reflection_pb2_grpc.ServerReflectionStub(channel).ServerReflectionInfo(
            iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=5
        )
    )

    assert health.status == health_pb2.HealthCheckResponse.SERVING
    services = {s.name for s in listing.list_services_response.service}
    assert {"credgate.v1.BureauService", "grpc.health.v1.Health"} <= services
    channel.close()


def test_messages_over_one_mebibyte_are_refused(bureau: RunningNode, start_members: StartMember) -> None:
    bank = start_members("bank-1")
    channel = open_channel(bank.identity, bureau.address, peer_member_id="bureau", egress=None)
    stub = bureau_pb2_grpc.BureauServiceStub(channel)
    oversized = bureau_pb2.RegisterRequest(
        advertised_address="127.0.0.1:1", software_version="v" * MAX_MESSAGE_BYTES
    )

    with pytest.raises(grpc.RpcError) as refused:
        stub.Register(oversized, timeout=5)

    assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    channel.close()


def test_bad_registration_is_invalid_argument_naming_the_field(
    bureau: RunningNode, start_members: StartMember
) -> None:
    bank = start_members("bank-1")
    channel = open_channel(bank.identity, bureau.address, peer_member_id="bureau", egress=None)

    with pytest.raises(grpc.RpcError) as refused:
        bureau_pb2_grpc.BureauServiceStub(channel).Register(
            bureau_pb2.RegisterRequest(
                advertised_address="nowhere", software_version="1", protocol_version="1"
            ),
            timeout=5,
        )

    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "advertised_address" in (refused.value.details() or "")
    channel.close()


def test_tls_identity_reports_its_certificate(bureau: RunningNode) -> None:
    identity = TLSIdentity.from_settings(bureau.settings.tls)

    assert (identity.own.member_id, identity.own.role) == ("bureau", Role.BUREAU)

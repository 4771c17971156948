"""Every channel is mutual TLS: callers without a valid consortium certificate are refused."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import grpc
import pytest

from gateway._proto.credgate.v1 import bureau_pb2, bureau_pb2_grpc
from gateway.clock import system_clock
from gateway.config import TLSSettings
from gateway.demo.provision import provision_ca
from gateway.identity.ca import CertificateAuthority
from gateway.identity.peer import Role
from gateway.identity.tls import TLSIdentity
from gateway.node.runtime import RunningNode
from gateway.rpc.channel import open_channel
from gateway.rpc.status import reason_of
from gateway.store.repositories.audit import AuditLog

NOW = system_clock()


def identity_from(
    authority: CertificateAuthority, out: Path, member_id: str, role: Role = Role.BANK, **issue_options: Any
) -> TLSIdentity:
    issued = authority.issue(member_id=member_id, role=role, out_dir=out, now=NOW, **issue_options)
    return TLSIdentity.from_settings(
        TLSSettings(ca_cert=issued.ca_cert_path, cert=issued.cert_path, key=issued.key_path, crl=None)
    )


def heartbeat(channel: grpc.Channel) -> bureau_pb2.HeartbeatResponse:
    return bureau_pb2_grpc.BureauServiceStub(channel).Heartbeat(
        bureau_pb2.HeartbeatRequest(software_version="t"), timeout=5
    )


def register(channel: grpc.Channel) -> bureau_pb2.RegisterResponse:
    return bureau_pb2_grpc.BureauServiceStub(channel).Register(
        bureau_pb2.RegisterRequest(
            advertised_address="127.0.0.1:1", software_version="t", protocol_version="t"
        ),
        timeout=5,
    )


def test_a_valid_certificate_is_accepted(
    bureau: RunningNode, authority: CertificateAuthority, tmp_path: Path
) -> None:
    identity = identity_from(authority, tmp_path / "ok", "bank-1")
    channel = open_channel(identity, bureau.address, peer_member_id="bureau", egress=None)

    assert register(channel).member_id == "bank-1"
    channel.close()


def test_a_certificate_from_another_ca_is_refused(bureau: RunningNode, tmp_path: Path) -> None:
    rogue_ca = provision_ca(tmp_path / "rogue-ca", now=NOW)
    rogue = identity_from(rogue_ca, tmp_path / "rogue", "bank-1")
    # The rogue client trusts the real CA for the server, so only its own certificate is wrong.
    trusting = TLSIdentity(
        rogue.key_pem,
        rogue.cert_pem,
        bureau.identity.ca_pem,
        rogue.own,
        bureau.identity.ca_certificate,
        rogue.revocations,
    )
    channel = open_channel(trusting, bureau.address, peer_member_id="bureau", egress=None)

    with pytest.raises(grpc.RpcError) as refused:
        register(channel)

    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    channel.close()


def test_an_expired_certificate_is_refused(
    bureau: RunningNode, authority: CertificateAuthority, tmp_path: Path
) -> None:
    expired = identity_from(
        authority, tmp_path / "expired", "bank-1", not_before=NOW - dt.timedelta(days=10), valid_days=1
    )
    channel = open_channel(expired, bureau.address, peer_member_id="bureau", egress=None)

    with pytest.raises(grpc.RpcError) as refused:
        register(channel)

    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    channel.close()


def test_no_client_certificate_is_refused(bureau: RunningNode) -> None:
    credentials = grpc.ssl_channel_credentials(root_certificates=bureau.identity.ca_pem)
    channel = grpc.secure_channel(
        bureau.address, credentials, options=[("grpc.ssl_target_name_override", "bureau")]
    )

    with pytest.raises(grpc.RpcError) as refused:
        register(channel)

    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    channel.close()


def test_a_revoked_certificate_is_refused_on_a_running_node(
    bureau: RunningNode, authority: CertificateAuthority, tmp_path: Path
) -> None:
    identity = identity_from(authority, tmp_path / "soon-revoked", "bank-1")
    channel = open_channel(identity, bureau.address, peer_member_id="bureau", egress=None)
    register(channel)

    authority.revoke(member_id="bank-1", now=NOW)
    with pytest.raises(grpc.RpcError) as refused:
        heartbeat(channel)

    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert reason_of(refused.value) == "certificate_revoked"
    last = AuditLog(bureau.store).entries()[-1]
    assert (last.decision.value, last.reason) == ("deny", "certificate_revoked")
    channel.close()


def test_a_server_presenting_another_members_certificate_is_refused(
    bureau: RunningNode, authority: CertificateAuthority, tmp_path: Path
) -> None:
    identity = identity_from(authority, tmp_path / "client", "bank-1")
    channel = open_channel(identity, bureau.address, peer_member_id="bank-2", egress=None)

    with pytest.raises(grpc.RpcError) as refused:
        register(channel)

    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    channel.close()

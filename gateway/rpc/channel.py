"""Mutual-TLS client channels to other consortium nodes."""

from __future__ import annotations

import grpc

from gateway.identity.tls import TLSIdentity
from gateway.rpc.interceptors.egress import ClientEgressInterceptor
from gateway.rpc.options import MESSAGE_SIZE_OPTIONS


def open_channel(
    identity: TLSIdentity, address: str, *, peer_member_id: str, egress: ClientEgressInterceptor | None
) -> grpc.Channel:
    """Open a channel to ``address`` that only trusts ``peer_member_id``'s certificate.

    The peer's member id is the TLS target name: the handshake fails unless the
    server presents a consortium certificate issued for exactly that member.
    ``egress`` is the node's egress guard (``ClientEgressInterceptor``); every channel a
    node opens must pass its guard — ``None`` only for tools that send nothing from a
    store (tests, benchmarks, health probes).
    """
    options = [*MESSAGE_SIZE_OPTIONS, ("grpc.ssl_target_name_override", peer_member_id)]
    channel = grpc.secure_channel(address, identity.channel_credentials(), options=options)
    return channel if egress is None else grpc.intercept_channel(channel, egress)

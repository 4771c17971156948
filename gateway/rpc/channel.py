"""Mutual-TLS client channels to other consortium nodes."""

from __future__ import annotations

import grpc

from gateway.identity.tls import TLSIdentity
from gateway.rpc.options import MESSAGE_SIZE_OPTIONS


def open_channel(identity: TLSIdentity, address: str, *, peer_member_id: str) -> grpc.Channel:
    """Open a channel to ``address`` that only trusts ``peer_member_id``'s certificate.

    The peer's member id is the TLS target name: the handshake fails unless the
    server presents a consortium certificate issued for exactly that member.
    """
    options = [*MESSAGE_SIZE_OPTIONS, ("grpc.ssl_target_name_override", peer_member_id)]
    return grpc.secure_channel(address, identity.channel_credentials(), options=options)

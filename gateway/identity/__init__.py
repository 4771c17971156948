"""Node identity: the consortium CA, node certificates, revocation and the verified peer."""

from gateway.identity.peer import Peer, Role

__all__ = ["Peer", "Role"]

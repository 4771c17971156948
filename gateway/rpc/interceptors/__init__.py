"""Server interceptors: peer identity from the certificate, policy decision, audit."""

from gateway.rpc.interceptors.authorization import (
    AuthorizationInterceptor,
    current_peer,
    peer_certificate_pem,
)

__all__ = ["AuthorizationInterceptor", "current_peer", "peer_certificate_pem"]

"""Server interceptors: peer identity from the certificate, policy decision, audit."""

from gateway.rpc.interceptors.authorization import AuthorizationInterceptor, current_peer

__all__ = ["AuthorizationInterceptor", "current_peer"]

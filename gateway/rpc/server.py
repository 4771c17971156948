"""The server factory every node uses: mTLS, interceptors, health and reflection.

Tests and nodes bind port 0 and read the chosen port from the returned
:class:`RunningServer`; there is no insecure port.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent import futures
from dataclasses import dataclass

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from gateway.errors import ConfigError
from gateway.identity.tls import TLSIdentity
from gateway.rpc.options import MESSAGE_SIZE_OPTIONS

Registration = Callable[[grpc.Server], None]


@dataclass(frozen=True)
class RunningServer:
    """A started gRPC server and the port the OS gave it."""

    server: grpc.Server
    port: int
    health: health.HealthServicer

    def stop(self, grace_seconds: float = 5.0) -> None:
        """Mark every service NOT_SERVING, then stop, letting calls in flight finish."""
        self.health.enter_graceful_shutdown()
        self.server.stop(grace_seconds).wait()


def start_server(
    *,
    identity: TLSIdentity,
    listen: str,
    services: Sequence[tuple[str, Registration]],
    interceptors: Sequence[grpc.ServerInterceptor],
    max_workers: int = 16,
) -> RunningServer:
    """Build, bind and start a mutual-TLS server.

    Parameters
    ----------
    identity
        The node's TLS material; clients must present a certificate from the same CA.
    listen
        ``host:port``; port 0 asks the OS for a free port.
    services
        ``(full service name, registration function)`` pairs, e.g.
        ``("credgate.v1.BureauService", lambda s: add_BureauServiceServicer_to_server(x, s))``.
    interceptors
        Applied to every call, the health and reflection services included.
    max_workers
        Threads serving calls concurrently.

    Raises
    ------
    ConfigError
        When the address cannot be bound.

    """
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=max_workers),
        interceptors=list(interceptors),
        options=list(MESSAGE_SIZE_OPTIONS),
    )
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    for _, register in services:
        register(server)
    names = [name for name, _ in services]
    reflection.enable_server_reflection((*names, health.SERVICE_NAME, reflection.SERVICE_NAME), server)
    try:
        port = server.add_secure_port(listen, identity.server_credentials())
    except RuntimeError as exc:
        raise ConfigError(f"cannot listen on {listen}: {exc}") from exc
    if port == 0:
        raise ConfigError(f"cannot listen on {listen}: address in use or not local")
    server.start()
    for name in ("", *names):
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    return RunningServer(server, port, health_servicer)

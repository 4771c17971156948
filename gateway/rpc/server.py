"""The server factory every node uses: mTLS, interceptors, health and reflection.

Tests and nodes bind port 0 and read the chosen port from the returned
:class:`RunningServer`; there is no insecure port. The server admits at most
``max_concurrent_rpcs`` calls at once (RESOURCE_EXHAUSTED beyond, rather than an
unbounded queue), and stopping it is bounded: calls still running after the grace
period are cancelled, and a call gRPC never finishes cannot hold the stop forever.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent import futures
from dataclasses import dataclass, field

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from gateway.config import ServerLimits
from gateway.errors import ConfigError
from gateway.identity.tls import TLSIdentity
from gateway.rpc.options import MESSAGE_SIZE_OPTIONS

Registration = Callable[[grpc.Server], None]
# After the grace period gRPC cancels what is still running; this long again for that to land.
STOP_MARGIN_SECONDS = 5.0
_LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunningServer:
    """A started gRPC server and the port the OS gave it."""

    server: grpc.Server
    port: int
    health: health.HealthServicer
    on_stop: list[Callable[[], None]] = field(default_factory=list)

    def stop(self, grace_seconds: float = 5.0) -> bool:
        """Mark every service NOT_SERVING, then stop, letting calls in flight finish.

        Returns whether gRPC reported the server stopped; ``False`` (logged as an error)
        when it still had not after the grace period and :data:`STOP_MARGIN_SECONDS`:
        the stop returns all the same, so that a process can always exit.
        """
        self.health.enter_graceful_shutdown()
        stopped = self.server.stop(grace_seconds).wait(grace_seconds + STOP_MARGIN_SECONDS)
        for close in self.on_stop:
            close()
        if not stopped:
            # Calls gRPC never finished are abandoned so that the process can still exit.
            _LOG.error("server_stop_incomplete", extra={"grace_seconds": grace_seconds})
        return stopped


def start_server(
    *,
    identity: TLSIdentity,
    listen: str,
    services: Sequence[tuple[str, Registration]],
    interceptors: Sequence[grpc.ServerInterceptor],
    limits: ServerLimits | None = None,
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
    limits
        Worker threads and the bound on calls admitted at once (defaults: ``ServerLimits()``).

    Raises
    ------
    ConfigError
        When the address cannot be bound.

    """
    limits = limits or ServerLimits()
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=limits.max_workers, thread_name_prefix="rpc"),
        interceptors=list(interceptors),
        # Without this a second node could bind the same port and share its calls (SO_REUSEPORT).
        options=[*MESSAGE_SIZE_OPTIONS, ("grpc.so_reuseport", 0)],
        maximum_concurrent_rpcs=limits.max_concurrent_rpcs,
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

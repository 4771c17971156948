"""Every call a node serves, counted, timed and logged as fields (event, member, method, status, latency).

Outermost of the node's own interceptors, so that it sees calls the limits refuse too.
Heartbeats and health probes are logged at DEBUG (they would otherwise be most of the
log); every other call at INFO, a failed one at WARNING.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import grpc

from gateway.observability import metrics
from gateway.rpc.interceptors.limits import Monotonic, peer_name
from gateway.rpc.interceptors.wrapping import Behaviour, rewrap

_LOG = logging.getLogger("credgate.rpc")
QUIET_METHODS = frozenset({"credgate.v1.BureauService/Heartbeat", "grpc.health.v1.Health/Check"})
_FAILURES = frozenset({"UNKNOWN", "INTERNAL", "UNAVAILABLE", "DEADLINE_EXCEEDED", "DATA_LOSS"})


class CallObserver(grpc.ServerInterceptor):
    """Records each call's method, caller, final status and latency."""

    def __init__(self, *, monotonic: Monotonic = time.monotonic) -> None:
        self._monotonic = monotonic

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler[Any, Any] | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        """Wrap the handler so that its end is recorded."""
        method = handler_call_details.method.lstrip("/")

        def wrap(behaviour: Behaviour, _requests_stream: bool, responses_stream: bool) -> Behaviour:
            if responses_stream:

                def observed_stream(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
                    started, error = self._monotonic(), None
                    try:
                        yield from behaviour(request, context)
                    except BaseException as exc:
                        error = exc
                        raise
                    finally:
                        self._record(method, context, started, error)

                return observed_stream

            def observed(request: Any, context: grpc.ServicerContext) -> Any:
                started, error = self._monotonic(), None
                try:
                    return behaviour(request, context)
                except BaseException as exc:
                    error = exc
                    raise
                finally:
                    self._record(method, context, started, error)

            return observed

        return rewrap(continuation(handler_call_details), wrap)

    def _record(
        self, method: str, context: grpc.ServicerContext, started: float, error: BaseException | None
    ) -> None:
        latency = self._monotonic() - started
        status = final_status(context, error)
        metrics.RPC_REQUESTS.labels(method=method, status=status).inc()
        metrics.RPC_LATENCY.labels(method=method, status=status).observe(latency)
        if method in QUIET_METHODS and status == "OK":
            level = logging.DEBUG
        elif status in _FAILURES:
            level = logging.WARNING
        else:
            level = logging.INFO
        if _LOG.isEnabledFor(level):
            _LOG.log(
                level,
                "rpc",
                extra={
                    "member": peer_name(context),
                    "method": method,
                    "status": status,
                    "latency_ms": round(latency * 1000, 2),
                },
            )


def final_status(context: grpc.ServicerContext, error: BaseException | None) -> str:
    """The status name the call ended with, as far as the server knows it."""
    # The server context has code() at run time (grpc >= 1.38); the type stubs lack it.
    read_code = getattr(context, "code", None)
    code = read_code() if callable(read_code) else None
    if isinstance(code, grpc.StatusCode):
        return code.name
    if error is None or isinstance(error, GeneratorExit):
        return "OK" if error is None else "CANCELLED"
    if isinstance(error, grpc.RpcError):
        return "CANCELLED"
    return "UNKNOWN"

"""Bounds on what one caller can occupy, idle streams closed, undecodable messages refused.

gRPC's Python server runs each call on a thread of a fixed pool, and a streaming call
holds its thread while it waits for the client. Without bounds, one member certificate
opening 20 idle streams took all 16 threads and the whole bureau stopped answering
(issue #17). This interceptor, placed before identity and policy so that load is shed
early, (1) admits at most ``max_calls_per_peer`` calls and ``max_streams_per_peer``
streams per certificate at once (RESOURCE_EXHAUSTED beyond), (2) closes a stream whose
client has neither sent its next message nor taken the next answer for
``idle_stream_seconds``, and (3) turns a request message that does not decode into
INVALID_ARGUMENT instead of gRPC's own abort, which on a client stream left the call
unfinished and made the server's shutdown wait forever. The overall bound
(``maximum_concurrent_rpcs``) is set on the server itself (``gateway.rpc.server``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import grpc

from gateway.config import ServerLimits
from gateway.errors import InvalidInputError, RateLimited
from gateway.observability import metrics
from gateway.rpc.interceptors.wrapping import Behaviour, Deserializer, rewrap
from gateway.rpc.status import abort_with

_LOG = logging.getLogger(__name__)
Monotonic = Callable[[], float]


@dataclass(frozen=True)
class Undecodable:
    """Stands in for a request message whose bytes did not decode (never reaches a handler)."""

    error: str


class UndecodableMessage(InvalidInputError):
    """A request message is not the protobuf message the method takes."""

    def __init__(self, method: str) -> None:
        super().__init__(
            f"a request message of {method} could not be decoded",
            field="request",
            reason="undecodable_message",
        )


class IdleStreamClosed(RateLimited):
    """A stream was closed because its client stayed silent for too long."""

    reason = "idle_stream_closed"


def decoding(deserializer: Deserializer | None) -> Deserializer:
    """``deserializer`` that returns :class:`Undecodable` instead of failing."""

    def decode(data: bytes) -> Any:
        if deserializer is None:
            return data
        try:
            return deserializer(data)
        except Exception as exc:
            return Undecodable(type(exc).__name__)

    return decode


def peer_name(context: grpc.ServicerContext) -> str:
    """The caller's certificate common name (its member id), without parsing the certificate."""
    raw: object = context.auth_context().get("x509_common_name")
    first = raw[0] if isinstance(raw, list) and raw else None
    return first.decode("utf-8", "replace") if isinstance(first, bytes) else "(no certificate)"


@dataclass(eq=False)
class _Call:
    """One admitted call: who, what, and whether it is waiting on its client."""

    peer: str
    method: str
    context: grpc.ServicerContext
    streaming: bool
    monotonic: Monotonic
    waiting_since: float | None = None
    idle_closed: bool = False
    undecodable: UndecodableMessage | None = None
    released: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def single(self, request: Any) -> Any:
        if isinstance(request, Undecodable):
            self.undecodable = UndecodableMessage(self.method)
            raise self.undecodable
        return request

    def requests(self, requests: Iterator[Any]) -> Iterator[Any]:
        while True:
            self.waiting_since = self.monotonic()
            try:
                message = next(requests)
            except StopIteration:
                return
            except grpc.RpcError:
                if self.idle_closed:
                    raise IdleStreamClosed(
                        f"{self.method}: stream closed after its client stayed idle"
                    ) from None
                raise
            finally:
                self.waiting_since = None
            yield self.single(message)

    def responses(self, responses: Iterator[Any]) -> Iterator[Any]:
        iterator = iter(responses)
        while True:
            self.waiting_since = None
            try:
                response = next(iterator)
            except StopIteration:
                return
            # gRPC sends it now and waits until the client's flow-control window takes it.
            self.waiting_since = self.monotonic()
            yield response


class _IdleWatchdog:
    """One thread that closes streams waiting on a silent client for longer than the limit."""

    def __init__(self, idle_seconds: float, monotonic: Monotonic) -> None:
        self._idle = idle_seconds
        self._monotonic = monotonic
        self._calls: set[_Call] = set()
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def watch(self, call: _Call) -> None:
        with self._lock:
            self._calls.add(call)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="idle-stream-watchdog", daemon=True)
                self._thread.start()

    def forget(self, call: _Call) -> None:
        with self._lock:
            self._calls.discard(call)

    def stop(self) -> None:
        self._stopped.set()

    def _run(self) -> None:
        period = min(1.0, self._idle / 4)
        while not self._stopped.wait(period):
            now = self._monotonic()
            with self._lock:
                idle = [
                    c
                    for c in self._calls
                    if c.waiting_since is not None and now - c.waiting_since > self._idle
                ]
            for call in idle:
                call.idle_closed = True
                self.forget(call)
                _LOG.warning(
                    "idle_stream_closed",
                    extra={"member": call.peer, "method": call.method, "idle_seconds": self._idle},
                )
                metrics.STREAMS_CLOSED_IDLE.labels(method=call.method).inc()
                call.context.cancel()


class CallLimitInterceptor(grpc.ServerInterceptor):
    """Per-certificate call and stream limits, idle-stream time-out, undecodable messages refused.

    Parameters
    ----------
    limits
        The node's ``[server]`` settings.
    monotonic
        Seconds on a monotonic clock (idle time is measured on it, never on wall time).

    """

    def __init__(self, limits: ServerLimits, *, monotonic: Monotonic = time.monotonic) -> None:
        self._limits = limits
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._calls: dict[str, int] = {}
        self._streams: dict[str, int] = {}
        self._watchdog = _IdleWatchdog(limits.idle_stream_seconds, monotonic)

    def close(self) -> None:
        """Stop the idle-stream watchdog (the server is stopping)."""
        self._watchdog.stop()

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler[Any, Any] | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        """Wrap the handler so that each call is admitted, watched and released."""
        method = handler_call_details.method.lstrip("/")

        def wrap(behaviour: Behaviour, requests_stream: bool, responses_stream: bool) -> Behaviour:
            streaming = requests_stream or responses_stream
            if responses_stream:

                def guarded_stream(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
                    with self._admitted(method, context, streaming=streaming) as call:
                        request = call.requests(request) if requests_stream else call.single(request)
                        yield from call.responses(behaviour(request, context))

                return guarded_stream

            def guarded(request: Any, context: grpc.ServicerContext) -> Any:
                with self._admitted(method, context, streaming=streaming) as call:
                    request = call.requests(request) if requests_stream else call.single(request)
                    return behaviour(request, context)

            return guarded

        return rewrap(continuation(handler_call_details), wrap, decode=decoding)

    @contextmanager
    def _admitted(self, method: str, context: grpc.ServicerContext, *, streaming: bool) -> Iterator[_Call]:
        call = _Call(peer_name(context), method, context, streaming, self._monotonic)
        refusal = self._acquire(call)
        if refusal is not None:
            _LOG.warning(
                "call refused", extra={"member": call.peer, "method": method, "reason": refusal.reason}
            )
            abort_with(context, refusal)
        context.add_callback(lambda: self._release(call))
        if streaming:
            self._watchdog.watch(call)
        try:
            yield call
        except Exception:
            if call.undecodable is not None:
                _LOG.warning("undecodable_request", extra={"member": call.peer, "method": method})
                abort_with(context, call.undecodable)
            raise
        finally:
            self._release(call)

    def _acquire(self, call: _Call) -> RateLimited | None:
        limits = self._limits
        with self._lock:
            calls = self._calls.get(call.peer, 0)
            streams = self._streams.get(call.peer, 0)
            if calls >= limits.max_calls_per_peer:
                return RateLimited(
                    f"{call.peer} has {calls} calls in progress (limit {limits.max_calls_per_peer})",
                    reason="too_many_calls",
                )
            if call.streaming and streams >= limits.max_streams_per_peer:
                return RateLimited(
                    f"{call.peer} has {streams} streams open (limit {limits.max_streams_per_peer})",
                    reason="too_many_streams",
                )
            self._calls[call.peer] = calls + 1
            if call.streaming:
                self._streams[call.peer] = streams + 1
        return None

    def _release(self, call: _Call) -> None:
        with call.lock:
            if call.released:
                return
            call.released = True
        self._watchdog.forget(call)
        with self._lock:
            self._calls[call.peer] -= 1
            if call.streaming:
                self._streams[call.peer] -= 1


__all__ = ["CallLimitInterceptor", "IdleStreamClosed", "Undecodable", "UndecodableMessage", "decoding"]

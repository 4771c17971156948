"""A server interceptor that records every message a server receives and sends, as protobuf objects.

Installed after the identity interceptor, it sees exactly what the handlers see and
return — the plaintext messages before TLS. Tests scan them for what must not be there.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.protobuf.message import Message

from gateway.rpc.interceptors.limits import peer_name
from gateway.rpc.interceptors.wrapping import rewrap


@dataclass
class Recorded:
    method: str
    direction: str  # "received" or "sent"
    message: Message
    # Wall-clock time (time.time()) at which the call's deadline falls, None without one.
    deadline: float | None = None
    # The caller's certificate name and the wall-clock time the call reached the handler.
    peer: str = ""
    at: float = 0.0


@dataclass(frozen=True)
class _Call:
    deadline: float | None
    peer: str
    at: float


@dataclass
class RecordingInterceptor(grpc.ServerInterceptor):
    records: list[Recorded] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def intercept_service(
        self, continuation: Callable[[grpc.HandlerCallDetails], Any], details: grpc.HandlerCallDetails
    ) -> Any:
        method = details.method

        def wrap(behaviour: Any, requests_stream: bool, responses_stream: bool) -> Any:
            def recorded(request: Any, context: grpc.ServicerContext) -> Any:
                at, left = time.time(), context.time_remaining()
                call = _Call(None if left is None else at + left, peer_name(context), at)
                if requests_stream:
                    request = self._incoming(method, request, call)
                else:
                    self._add(method, "received", request, call)
                response = behaviour(request, context)
                if responses_stream:
                    return self._outgoing(method, response, call)
                self._add(method, "sent", response, call)
                return response

            return recorded

        return rewrap(continuation(details), wrap)

    def messages(self, *, method: str | None = None, direction: str | None = None) -> list[Message]:
        with self._lock:
            return [
                r.message
                for r in self.records
                if (method is None or r.method.endswith(method))
                and (direction is None or r.direction == direction)
            ]

    def calls(self, *, method: str, direction: str = "received") -> list[Recorded]:
        """The records of ``method`` (with their deadlines), oldest first."""
        with self._lock:
            return [r for r in self.records if r.method.endswith(method) and r.direction == direction]

    def _add(self, method: str, direction: str, message: Message, call: _Call) -> None:
        with self._lock:
            self.records.append(Recorded(method, direction, message, call.deadline, call.peer, call.at))

    def _incoming(self, method: str, iterator: Iterator[Message], call: _Call) -> Iterator[Message]:
        for message in iterator:
            self._add(method, "received", message, call)
            yield message

    def _outgoing(self, method: str, iterator: Iterator[Message], call: _Call) -> Iterator[Message]:
        for message in iterator:
            self._add(method, "sent", message, call)
            yield message

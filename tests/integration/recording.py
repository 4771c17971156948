"""A server interceptor that records every message a server receives and sends, as protobuf objects.

Installed after the identity interceptor, it sees exactly what the handlers see and
return — the plaintext messages before TLS. Tests scan them for what must not be there.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.protobuf.message import Message


@dataclass
class Recorded:
    method: str
    direction: str  # "received" or "sent"
    message: Message


@dataclass
class RecordingInterceptor(grpc.ServerInterceptor):
    records: list[Recorded] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def intercept_service(
        self, continuation: Callable[[grpc.HandlerCallDetails], Any], details: grpc.HandlerCallDetails
    ) -> Any:
        handler = continuation(details)
        if handler is None:
            return None
        method = details.method
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(
                self._unary(method, handler.unary_unary),
                handler.request_deserializer,
                handler.response_serializer,
            )
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(
                self._unary_stream(method, handler.unary_stream),
                handler.request_deserializer,
                handler.response_serializer,
            )
        if handler.stream_unary:
            return grpc.stream_unary_rpc_method_handler(
                self._stream_unary(method, handler.stream_unary),
                handler.request_deserializer,
                handler.response_serializer,
            )
        return grpc.stream_stream_rpc_method_handler(
            self._stream_stream(method, handler.stream_stream),
            handler.request_deserializer,
            handler.response_serializer,
        )

    def messages(self, *, method: str | None = None, direction: str | None = None) -> list[Message]:
        with self._lock:
            return [
                r.message
                for r in self.records
                if (method is None or r.method.endswith(method))
                and (direction is None or r.direction == direction)
            ]

    def _add(self, method: str, direction: str, message: Message) -> None:
        with self._lock:
            self.records.append(Recorded(method, direction, message))

    def _incoming(self, method: str, iterator: Iterator[Message]) -> Iterator[Message]:
        for message in iterator:
            self._add(method, "received", message)
            yield message

    def _outgoing(self, method: str, iterator: Iterator[Message]) -> Iterator[Message]:
        for message in iterator:
            self._add(method, "sent", message)
            yield message

    def _unary(self, method: str, behaviour: Any) -> Any:
        def wrapped(request: Message, context: grpc.ServicerContext) -> Message:
            self._add(method, "received", request)
            response = behaviour(request, context)
            self._add(method, "sent", response)
            return response

        return wrapped

    def _unary_stream(self, method: str, behaviour: Any) -> Any:
        def wrapped(request: Message, context: grpc.ServicerContext) -> Iterator[Message]:
            self._add(method, "received", request)
            return self._outgoing(method, behaviour(request, context))

        return wrapped

    def _stream_unary(self, method: str, behaviour: Any) -> Any:
        def wrapped(requests: Iterator[Message], context: grpc.ServicerContext) -> Message:
            response = behaviour(self._incoming(method, requests), context)
            self._add(method, "sent", response)
            return response

        return wrapped

    def _stream_stream(self, method: str, behaviour: Any) -> Any:
        def wrapped(requests: Iterator[Message], context: grpc.ServicerContext) -> Iterator[Message]:
            return self._outgoing(method, behaviour(self._incoming(method, requests), context))

        return wrapped

"""Rewrapping a gRPC method handler's behaviour, whatever its streaming shape."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc

Behaviour = Callable[[Any, grpc.ServicerContext], Any]
# wrap(behaviour, requests_stream, responses_stream) -> behaviour with the same call signature
Wrap = Callable[[Behaviour, bool, bool], Behaviour]
Deserializer = Callable[[bytes], Any]
# decode(original deserializer or None) -> the deserializer the server uses instead
Decode = Callable[[Deserializer | None], Deserializer]

_SHAPES = (
    ("unary_unary", grpc.unary_unary_rpc_method_handler, False, False),
    ("unary_stream", grpc.unary_stream_rpc_method_handler, False, True),
    ("stream_unary", grpc.stream_unary_rpc_method_handler, True, False),
    ("stream_stream", grpc.stream_stream_rpc_method_handler, True, True),
)


def rewrap(
    handler: grpc.RpcMethodHandler[Any, Any] | None, wrap: Wrap, *, decode: Decode | None = None
) -> grpc.RpcMethodHandler[Any, Any] | None:
    """The same handler, its behaviour passed through ``wrap`` (its deserializer through ``decode``)."""
    if handler is None:
        return None
    for attribute, factory, requests_stream, responses_stream in _SHAPES:
        behaviour = getattr(handler, attribute)
        if behaviour is not None:
            wrapped = wrap(behaviour, requests_stream, responses_stream)
            deserializer = handler.request_deserializer
            return factory(
                wrapped,
                request_deserializer=deserializer if decode is None else decode(deserializer),
                response_serializer=handler.response_serializer,
            )
    raise ValueError("gRPC method handler without a behaviour")

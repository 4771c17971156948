"""The one place where gateway errors become gRPC status codes.

Peers and the CLI branch on the ``credgate-reason`` trailing metadata (a stable
code), never on the message text. Unknown exceptions become INTERNAL with a
correlation id only; their text never reaches a peer.
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Callable, Iterator
from typing import Any, NoReturn, TypeVar

import grpc

from gateway import errors
from gateway.crypto.errors import DecryptionError, KeyBundleError
from gateway.egress.guard import EgressBlocked
from gateway.reports.errors import NoiseReuseError

REASON_KEY = "credgate-reason"
CORRELATION_KEY = "credgate-correlation-id"
_LOG = logging.getLogger(__name__)

_CODES: tuple[tuple[type[errors.GatewayError], grpc.StatusCode], ...] = (
    (errors.InvalidInputError, grpc.StatusCode.INVALID_ARGUMENT),
    # A sealed envelope that does not open, or a key bundle that does not verify, is bad input.
    (DecryptionError, grpc.StatusCode.INVALID_ARGUMENT),
    (KeyBundleError, grpc.StatusCode.INVALID_ARGUMENT),
    # This node refused to send its own answer: nothing left, and the peer is told why (no value).
    (EgressBlocked, grpc.StatusCode.FAILED_PRECONDITION),
    # A report is released once per template, period and regulator, and noise is never redrawn for it.
    (errors.AlreadyExistsError, grpc.StatusCode.ALREADY_EXISTS),
    (NoiseReuseError, grpc.StatusCode.FAILED_PRECONDITION),
    (errors.PolicyDenied, grpc.StatusCode.PERMISSION_DENIED),
    (errors.VerificationError, grpc.StatusCode.FAILED_PRECONDITION),
    (errors.RateLimited, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (errors.IdentityError, grpc.StatusCode.UNAUTHENTICATED),
    (errors.NotFoundError, grpc.StatusCode.NOT_FOUND),
    (errors.UnavailableError, grpc.StatusCode.UNAVAILABLE),
)


def status_code_for(error: errors.GatewayError) -> grpc.StatusCode:
    """Return the gRPC status code for a gateway error (INTERNAL when unmapped)."""
    for error_class, code in _CODES:
        if isinstance(error, error_class):
            return code
    return grpc.StatusCode.INTERNAL


def abort_with(context: grpc.ServicerContext, error: errors.GatewayError) -> NoReturn:
    """Abort the call with the error's status, message and reason code."""
    context.set_trailing_metadata(((REASON_KEY, error.reason),))
    context.abort(status_code_for(error), error.message)
    raise AssertionError("grpc context.abort returned")  # abort always raises


def abort_internal(context: grpc.ServicerContext, exc: BaseException) -> NoReturn:
    """Abort with INTERNAL and a correlation id; the exception is logged locally only."""
    correlation_id = uuid.uuid4().hex
    _LOG.error("internal_error", extra={"correlation_id": correlation_id}, exc_info=exc)
    context.set_trailing_metadata(((REASON_KEY, "internal"), (CORRELATION_KEY, correlation_id)))
    context.abort(grpc.StatusCode.INTERNAL, f"internal error (correlation id {correlation_id})")
    raise AssertionError("grpc context.abort returned")


def reason_of(error: grpc.RpcError) -> str | None:
    """Read the stable reason code from a failed call, if the peer sent one."""
    for key, value in _call_attribute(error, "trailing_metadata", ()) or ():
        if key == REASON_KEY:
            return str(value)
    return None


def _call_attribute(error: grpc.RpcError, name: str, default: object) -> Any:
    # A failed call's RpcError is also a grpc.Call at run time, which the type stubs cannot express.
    method = getattr(error, name, None)
    return method() if callable(method) else default


Request = TypeVar("Request")
Response = TypeVar("Response")
Servicer = TypeVar("Servicer")
Method = Callable[[Servicer, Request, grpc.ServicerContext], Response]


def maps_errors(method: Method[Servicer, Request, Response]) -> Method[Servicer, Request, Response]:
    """Decorate a servicer method so gateway errors become statuses and others INTERNAL.

    The decorated body must not call ``context.abort`` itself.
    """

    @functools.wraps(method)
    def wrapper(self: Servicer, request: Request, context: grpc.ServicerContext) -> Response:
        try:
            return method(self, request, context)
        except errors.GatewayError as exc:
            abort_with(context, exc)
        except Exception as exc:
            abort_internal(context, exc)

    return wrapper


_ERROR_FOR_CODE: dict[grpc.StatusCode, type[errors.GatewayError]] = {
    grpc.StatusCode.PERMISSION_DENIED: errors.PolicyDenied,
    grpc.StatusCode.RESOURCE_EXHAUSTED: errors.RateLimited,
    grpc.StatusCode.UNAUTHENTICATED: errors.IdentityError,
    grpc.StatusCode.NOT_FOUND: errors.NotFoundError,
    grpc.StatusCode.UNAVAILABLE: errors.UnavailableError,
    grpc.StatusCode.DEADLINE_EXCEEDED: errors.UnavailableError,
    # A member's "already released" must reach the regulator as ALREADY_EXISTS, not INTERNAL.
    grpc.StatusCode.ALREADY_EXISTS: errors.AlreadyExistsError,
}


def error_from_rpc(exc: grpc.RpcError, *, peer: str) -> errors.GatewayError:
    """Turn a failed call into the matching gateway error, naming the peer."""
    code = _call_attribute(exc, "code", grpc.StatusCode.UNKNOWN)
    details = _call_attribute(exc, "details", str(exc))
    if not isinstance(code, grpc.StatusCode):
        code = grpc.StatusCode.UNKNOWN
    error_class = _ERROR_FOR_CODE.get(code, errors.GatewayError)
    return error_class(f"{peer} answered {code.name}: {details}", reason=reason_of(exc))


def maps_stream_errors(
    method: Callable[[Servicer, Request, grpc.ServicerContext], Iterator[Response]],
) -> Callable[[Servicer, Request, grpc.ServicerContext], Iterator[Response]]:
    """Like :func:`maps_errors`, for servicer methods that yield their responses."""

    @functools.wraps(method)
    def wrapper(self: Servicer, request: Request, context: grpc.ServicerContext) -> Iterator[Response]:
        try:
            yield from method(self, request, context)
        except errors.GatewayError as exc:
            abort_with(context, exc)
        except Exception as exc:
            abort_internal(context, exc)

    return wrapper

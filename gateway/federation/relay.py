"""The bureau's fleet relay: mutual TLS in, Flower's fleet API on loopback out.

Members' SuperNodes reach the SuperLink only through this server. Each call is
admitted when the caller's certificate (verified by the TLS handshake against
the consortium CA) is not revoked and names a lender role; the gRPC method must
be one of :data:`gateway.federation.routes.FLEET_ROUTES`. Any other ``flwr.*``
method (control, runtime/ServerAppIo, …) is refused with PERMISSION_DENIED and
anything else is UNIMPLEMENTED. The body is forwarded as raw bytes; only
``ActivateNode`` is decoded, to register and pin the member's SuperNode key.
"""

from __future__ import annotations

import base64
import binascii
import logging
import ssl
from collections.abc import Callable
from typing import Any

import grpc
import httpx

from gateway.errors import GatewayError, PolicyDenied
from gateway.federation.node_keys import SuperNodeKeyPins
from gateway.federation.routes import PATH_BY_METHOD, PROTOBUF_HEADERS, STATUS_KEY, carried
from gateway.identity.peer import Role
from gateway.identity.tls import TLSIdentity
from gateway.rpc.interceptors.authorization import current_peer
from gateway.rpc.server import RunningServer, start_server
from gateway.rpc.status import abort_internal, abort_with

_LOG = logging.getLogger(__name__)
FEDERATION_ROLES = frozenset({Role.BANK, Role.CONSUMER_FINANCE, Role.MICRO_LENDER})
FORWARD_TIMEOUT_SECONDS = 120.0
RELAY_SERVICE = "credgate.federation.FleetRelay"
# Flower's SuperNode identity headers (flwr.supercore.constant, flwr.common.constant).
PUBLIC_KEY_HEADER = "flwr-public-key"
SIGNATURE_HEADER = "flwr-signature"
TIMESTAMP_HEADER = "flwr-timestamp"
KEEPALIVE_SECONDS = 2.0


class FleetRelay(grpc.GenericRpcHandler):
    """Forwards admitted fleet calls to ``https://127.0.0.1:<superlink_port>``."""

    def __init__(self, identity: TLSIdentity, superlink_port: int, pins: SuperNodeKeyPins) -> None:
        self._identity = identity
        self._base = f"https://127.0.0.1:{superlink_port}"
        self._http = httpx.Client(
            verify=ssl.create_default_context(cadata=identity.ca_pem.decode("ascii")),
            timeout=FORWARD_TIMEOUT_SECONDS,
            # The SuperLink (uvicorn) closes a connection idle for 5 s; reusing one it is closing
            # fails the call ("Server disconnected"), so idle connections are dropped sooner here.
            limits=httpx.Limits(keepalive_expiry=KEEPALIVE_SECONDS),
        )
        self._pins = pins

    def close(self) -> None:
        """Close the connection pool to the SuperLink."""
        self._http.close()

    def service(
        self, handler_call_details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        """A raw-bytes handler for every ``flwr.*`` method; ``None`` (UNIMPLEMENTED) otherwise."""
        method = handler_call_details.method
        if not method.startswith("/flwr."):
            return None
        return grpc.unary_unary_rpc_method_handler(self._behaviour(method))

    def _behaviour(self, method: str) -> Callable[[bytes, grpc.ServicerContext], bytes]:
        def forward(body: bytes, context: grpc.ServicerContext) -> bytes:
            try:
                member_id = self._admit(method, body, context)
            except GatewayError as exc:
                _LOG.warning("fleet relay refused %s: %s", method, exc.message)
                abort_with(context, exc)
            try:
                return self._forward(method, body, context)
            except httpx.HTTPError as exc:
                _LOG.warning("SuperLink unreachable for %s from %s: %s", method, member_id, exc)
                context.abort(grpc.StatusCode.UNAVAILABLE, "the SuperLink is not reachable")
                raise AssertionError("abort returned") from exc
            except Exception as exc:
                abort_internal(context, exc)

        return forward

    def _admit(self, method: str, body: bytes, context: grpc.ServicerContext) -> str:
        peer = current_peer(context)
        self._identity.revocations.check(peer.serial)
        if peer.role not in FEDERATION_ROLES:
            raise PolicyDenied(f"role {peer.role.value} may not join federated training", reason="role")
        if method not in PATH_BY_METHOD:
            raise PolicyDenied(f"{method} is not part of the fleet API", reason="not_fleet_api")
        if method.endswith("/ActivateNode"):
            self._pins.admit(peer.member_id, _possessed_key(body, context))
        return peer.member_id

    def _forward(self, method: str, body: bytes, context: grpc.ServicerContext) -> bytes:
        headers = {key: str(value) for key, value in context.invocation_metadata() if carried(key)}
        headers.update(PROTOBUF_HEADERS)
        reply = self._http.post(f"{self._base}{PATH_BY_METHOD[method]}", content=body, headers=headers)
        metadata = [(STATUS_KEY, str(reply.status_code))]
        metadata += [(k.lower(), v) for k, v in reply.headers.items() if carried(k)]
        context.send_initial_metadata(tuple(metadata))
        return reply.content


def _possessed_key(body: bytes, context: grpc.ServicerContext) -> bytes:
    """The SuperNode key an ActivateNode call names, once its signature shows the caller holds it.

    Checked before the key is registered and pinned, so a member cannot pin a public key it
    does not hold (for instance another member's, to lock that member out).
    """
    from flwr.proto.fleet_pb2 import ActivateNodeRequest
    from flwr.supercore.primitives.asymmetric import bytes_to_public_key, verify_signature

    request = ActivateNodeRequest()
    request.ParseFromString(body)
    headers = {key: str(value) for key, value in context.invocation_metadata()}
    try:
        claimed = base64.b64decode(headers[PUBLIC_KEY_HEADER], validate=True)
        signature = base64.b64decode(headers[SIGNATURE_HEADER], validate=True)
        timestamp = headers[TIMESTAMP_HEADER].encode("ascii")
        signed = claimed == request.public_key and verify_signature(
            bytes_to_public_key(claimed), timestamp, signature
        )
    except (KeyError, ValueError, TypeError, binascii.Error):
        signed = False
    if not signed:
        raise PolicyDenied("ActivateNode is not signed by the key it names", reason="supernode_key_unproven")
    return bytes(request.public_key)


def start_relay(identity: TLSIdentity, listen: str, relay: FleetRelay) -> RunningServer:
    """Serve ``relay`` with mutual TLS on ``listen`` (no Cedar policy: the relay admits by role)."""
    return start_server(
        identity=identity,
        listen=listen,
        services=[(RELAY_SERVICE, lambda server: server.add_generic_rpc_handlers((relay,)))],
        interceptors=[],
    )

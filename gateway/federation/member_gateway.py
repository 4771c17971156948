"""The member's loopback fleet gateway: its own SuperNode in, the bureau's relay (mTLS) out.

The SuperNode is pointed at ``https://127.0.0.1:<port>`` (served with the
member's consortium certificate, verified by the SuperNode against the
consortium CA). Only the fleet paths of :mod:`gateway.federation.routes` are
forwarded; any other path is 404. The gateway enforces the bundle allow-list
outside the SuperNode's control: a ``GetRun`` whose run announces an unlisted
FAB hash, or a ``GetFab`` whose bytes hash to an unlisted value, is answered
with HTTP 403, which the SuperNode treats as "run not running" and drops the
message, so the ClientApp never starts for that run.
"""

from __future__ import annotations

import logging
import ssl
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import grpc

from gateway.config import TLSSettings
from gateway.egress.guard import EgressBlocked
from gateway.egress.opaque import OpaqueEgress
from gateway.errors import ConfigError
from gateway.federation.bundles import BundleAllowList
from gateway.federation.errors import BundleNotAllowed
from gateway.federation.routes import METHOD_BY_PATH, PROTOBUF_MEDIA_TYPE, STATUS_KEY, carried

_LOG = logging.getLogger(__name__)
RELAY_TIMEOUT_SECONDS = 120.0
# A relay refusal (role, revoked certificate, another SuperNode key) is 401, on
# which the SuperNode shuts itself down; 403 would read as "run not running".
_HTTP_FOR_GRPC = {
    grpc.StatusCode.PERMISSION_DENIED: HTTPStatus.UNAUTHORIZED,
    grpc.StatusCode.UNAUTHENTICATED: HTTPStatus.UNAUTHORIZED,
    grpc.StatusCode.UNAVAILABLE: HTTPStatus.SERVICE_UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED: HTTPStatus.GATEWAY_TIMEOUT,
}


class BundleGuard:
    """Checks fleet replies that name or carry an app bundle against the allow-list.

    The list is read again for every such reply (once or twice per run), so a policies
    update takes effect without a restart; an unreadable list refuses every bundle.
    """

    def __init__(self, allow_list_path: Path) -> None:
        self.path = allow_list_path
        self.refusals: list[str] = []

    @property
    def allow_list(self) -> BundleAllowList:
        """The allow-list as the file says now (empty, so denying, when it cannot be read)."""
        try:
            return BundleAllowList.from_file(self.path)
        except ConfigError as exc:
            _LOG.error("bundle allow-list unreadable, refusing every bundle: %s", exc.message)
            return BundleAllowList((), self.path)

    def check_reply(self, path: str, body: bytes) -> None:
        """Raise :class:`BundleNotAllowed` for a run or FAB that is not allow-listed."""
        if path == "/v1/fleet/get-run":
            from flwr.proto.run_pb2 import GetRunResponse

            run = GetRunResponse()
            run.ParseFromString(body)
            self._check(lambda: self.allow_list.check(run.run.fab_hash))
        elif path == "/v1/fleet/get-fab":
            from flwr.proto.fab_pb2 import GetFabResponse

            fab = GetFabResponse()
            fab.ParseFromString(body)
            self._check(lambda: self.allow_list.check_content(fab.fab.content))

    def _check(self, check: Callable[[], None]) -> None:
        try:
            check()
        except BundleNotAllowed as exc:
            self.refusals.append(exc.message)
            raise


class MemberFleetGateway:
    """A TLS HTTP server on 127.0.0.1 that relays the fleet API to the bureau."""

    def __init__(
        self, tls: TLSSettings, channel: grpc.Channel, guard: BundleGuard, *, egress: OpaqueEgress | None
    ) -> None:
        self._channel = channel
        self.guard = guard
        self._egress = egress
        handler = _handler_class(self)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(tls.cert), str(tls.key))
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, name="fleet-gateway", daemon=True)

    @property
    def port(self) -> int:
        """The loopback port the SuperNode connects to."""
        return int(self._server.server_address[1])

    def start(self) -> None:
        """Serve in a background thread."""
        self._thread.start()
        _LOG.info("fleet gateway for the SuperNode on 127.0.0.1:%s", self.port)

    def stop(self) -> None:
        """Stop serving and close the channel to the bureau."""
        self._server.shutdown()
        self._server.server_close()
        self._channel.close()

    def relay(self, path: str, body: bytes, headers: list[tuple[str, str]]) -> tuple[int, bytes]:
        """Forward one fleet call; return the HTTP status and body to give the SuperNode."""
        method = METHOD_BY_PATH.get(path)
        if method is None:
            return HTTPStatus.NOT_FOUND, b'{"detail": "not a fleet path"}'
        if self._egress is not None:
            try:
                self._egress.check(body, kind=f"flower:{method.rsplit('/', 1)[-1]}", name="body")
            except EgressBlocked as exc:
                _LOG.warning("egress guard refused a fleet call: %s", exc.message)
                return HTTPStatus.FORBIDDEN, b'{"detail": "egress guard refused the message"}'
        call: grpc.UnaryUnaryMultiCallable[bytes, bytes] = self._channel.unary_unary(method)
        metadata = tuple((k.lower(), v) for k, v in headers if carried(k))
        try:
            reply, state = call.with_call(body, metadata=metadata, timeout=RELAY_TIMEOUT_SECONDS)
        except grpc.RpcError as exc:
            code = exc.code() if hasattr(exc, "code") else grpc.StatusCode.UNKNOWN
            _LOG.warning("fleet relay refused %s: %s", path, code)
            return _HTTP_FOR_GRPC.get(code, HTTPStatus.BAD_GATEWAY), b'{"detail": "relay refused"}'
        status = int(dict(state.initial_metadata() or ()).get(STATUS_KEY, "502"))
        if status == HTTPStatus.OK:
            try:
                self.guard.check_reply(path, reply)
            except BundleNotAllowed as exc:
                _LOG.warning("refused a run: %s", exc.message)
                return HTTPStatus.FORBIDDEN, b'{"detail": "app bundle not allow-listed"}'
        return status, bytes(reply)


def _handler_class(gateway: MemberFleetGateway) -> type[BaseHTTPRequestHandler]:
    class FleetHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes; with Nagle on, each reply waits ~40 ms for an ACK.
        disable_nagle_algorithm = True

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length)
            status, reply = gateway.relay(self.path, body, list(self.headers.items()))
            self.send_response(status)
            ok = status == HTTPStatus.OK
            self.send_header("content-type", PROTOBUF_MEDIA_TYPE if ok else "application/json")
            self.send_header("content-length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def do_GET(self) -> None:
            self.send_error(HTTPStatus.NOT_FOUND)

        def log_message(self, format: str, *args: object) -> None:
            _LOG.debug("fleet gateway: " + format, *args)

    return FleetHandler

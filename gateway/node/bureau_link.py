"""A member's link to the bureau: register, then send heartbeats until stopped.

The link survives a bureau that is not up yet or restarts: it retries with
capped backoff and registers again when the bureau no longer knows the member.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from gateway import __version__
from gateway._proto.credgate.v1 import bureau_pb2, bureau_pb2_grpc
from gateway.crypto.bundle import KeyBundle, sign_bundle
from gateway.crypto.ed25519 import Ed25519Key
from gateway.crypto.keys import NodeKeys
from gateway.identity.tls import TLSIdentity
from gateway.rpc.channel import open_channel
from gateway.rpc.interceptors.egress import ClientEgressInterceptor
from gateway.tlog.keys import LogKeyStatement

PROTOCOL_VERSION = "credgate.v1"
CALL_TIMEOUT_SECONDS = 5.0
MAX_BACKOFF_SECONDS = 10.0
_LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class SignedKeys:
    """A member's key bundle and log key, each with the signature of its certificate key."""

    bundle: KeyBundle
    signature: bytes
    log_key: LogKeyStatement | None = None

    @classmethod
    def create(
        cls, identity: TLSIdentity, keys: NodeKeys, *, now: dt.datetime, log_key: Ed25519Key | None = None
    ) -> SignedKeys:
        """Describe and sign ``keys`` (and the Ed25519 ``log_key``) as ``identity``'s."""
        bundle = KeyBundle.for_node(identity.own.member_id, keys, created_at=now)
        statement = None
        if log_key is not None:
            statement = LogKeyStatement.create(
                identity.own.member_id,
                log_key.public_key,
                certificate_pem=identity.cert_pem,
                tls_private_key_pem=identity.key_pem,
            )
        return cls(bundle, sign_bundle(bundle, identity.key_pem), statement)

    def to_proto(self) -> bureau_pb2.NodeKeys:
        """The ``NodeKeys`` message sent at registration."""
        created_at = Timestamp()
        created_at.FromDatetime(self.bundle.created_at)
        return bureau_pb2.NodeKeys(
            hpke_public_key=self.bundle.hpke_public_key,
            mask_public_key=self.bundle.mask_public_key,
            created_at=created_at,
            signature=self.signature,
        )


class BureauLink:
    """Background registration and heartbeats for one member node.

    Parameters
    ----------
    identity
        The member's TLS material.
    bureau_address, bureau_member_id
        Where the bureau serves and the member id its certificate must name.
    advertised_address
        Where the bureau can reach this member.
    heartbeat_seconds
        Interval between heartbeats once registered.
    keys
        The member's key bundle and its signature, published at registration.
    blacklist_listings
        Counts the member's live blacklist listings, reported with each heartbeat.
    egress
        The member's egress guard, on the channel.

    """

    def __init__(
        self,
        identity: TLSIdentity,
        *,
        bureau_address: str,
        bureau_member_id: str,
        advertised_address: str,
        heartbeat_seconds: float,
        keys: SignedKeys,
        blacklist_listings: Callable[[], int],
        egress: ClientEgressInterceptor,
    ) -> None:
        self._channel = open_channel(identity, bureau_address, peer_member_id=bureau_member_id, egress=egress)
        self._stub = bureau_pb2_grpc.BureauServiceStub(self._channel)
        self._advertised_address = advertised_address
        self._keys = keys
        self._blacklist_listings = blacklist_listings
        self._interval = heartbeat_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bureau-link", daemon=True)
        self.registered = threading.Event()

    def start(self) -> None:
        """Start registering and heartbeating in the background."""
        self._thread.start()

    def stop(self) -> None:
        """Stop the background thread and close the channel."""
        self._stop.set()
        self._thread.join(timeout=CALL_TIMEOUT_SECONDS + 1)
        self._channel.close()

    def _run(self) -> None:
        backoff = 0.2
        while not self._stop.is_set():
            try:
                if not self.registered.is_set():
                    self._register()
                # Heartbeat right after registering too: it carries the blacklist count.
                self._heartbeat()
                backoff = 0.2
                wait = self._interval
            except grpc.RpcError as exc:
                if exc.code() == grpc.StatusCode.NOT_FOUND:
                    self.registered.clear()
                _LOG.warning(
                    "bureau_call_failed", extra={"status": exc.code().name, "details": exc.details()}
                )
                wait, backoff = backoff, min(backoff * 2, MAX_BACKOFF_SECONDS)
            self._stop.wait(wait)

    def _register(self) -> None:
        request = bureau_pb2.RegisterRequest(
            advertised_address=self._advertised_address,
            software_version=__version__,
            protocol_version=PROTOCOL_VERSION,
            keys=self._keys.to_proto(),
        )
        if self._keys.log_key is not None:
            statement = self._keys.log_key
            log_key = bureau_pb2.LogKey(public_key=statement.public_key, signature=statement.signature)
            request.log_key.CopyFrom(log_key)
        response = self._stub.Register(request, timeout=CALL_TIMEOUT_SECONDS)
        self._interval = float(response.heartbeat_interval_seconds or self._interval)
        self.registered.set()
        _LOG.info("registered", extra={"member": response.member_id, "address": self._advertised_address})

    def _heartbeat(self) -> None:
        request = bureau_pb2.HeartbeatRequest(
            software_version=__version__,
            blacklist_listings=self._blacklist_listings(),
            advertised_address=self._advertised_address,
        )
        self._stub.Heartbeat(request, timeout=CALL_TIMEOUT_SECONDS)

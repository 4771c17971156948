"""Synchronous calls to the bureau: operators' tools (status, doctor) and report holders counts.

Inside the answer to a report round every call takes the round's remaining deadline
(``gateway.rpc.deadline``), not its fixed default: the defaults hold only outside a round.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from gateway._proto.credgate.v1 import bureau_pb2, bureau_pb2_grpc, regulator_report_pb2
from gateway.bureau import MemberView
from gateway.config import RUNTIME_FILE, Settings
from gateway.errors import ConfigError
from gateway.identity.tls import TLSIdentity
from gateway.rpc.channel import open_channel
from gateway.rpc.convert.subject_check import from_timestamp, new_header
from gateway.rpc.deadline import call_timeout
from gateway.rpc.interceptors.egress import ClientEgressInterceptor
from gateway.rpc.roles import role_from_proto
from gateway.rpc.status import error_from_rpc
from gateway.store.repositories.members import PublishedKeys

# Defaults outside a round (operators' tools); inside one the round's remaining deadline applies.
CALL_TIMEOUT_SECONDS = 5.0
# A holders-count vector is a few MiB: streamed in 512 KiB chunks, with a longer deadline.
VECTOR_TIMEOUT_SECONDS = 120.0
WORDS_PER_CHUNK = 1 << 18
T = TypeVar("T")


class BureauClient:
    """One mTLS channel to the bureau, as a node's certificate."""

    def __init__(
        self,
        identity: TLSIdentity,
        address: str,
        *,
        bureau_member_id: str,
        egress: ClientEgressInterceptor | None,
    ) -> None:
        self.address = address
        self._channel = open_channel(identity, address, peer_member_id=bureau_member_id, egress=egress)
        self._stub = bureau_pb2_grpc.BureauServiceStub(self._channel)
        self._health = health_pb2_grpc.HealthStub(self._channel)

    @property
    def channel(self) -> grpc.Channel:
        """The mTLS channel to the bureau (through this node's egress guard)."""
        return self._channel

    def directory(self) -> tuple[list[MemberView], dt.datetime]:
        """The consortium directory as this node may see it, and the bureau's time."""
        timeout = call_timeout(CALL_TIMEOUT_SECONDS)
        response = self._call(
            lambda: self._stub.GetDirectory(bureau_pb2.GetDirectoryRequest(), timeout=timeout)
        )
        return [_view(entry) for entry in response.members], from_timestamp(
            response.bureau_time, field="bureau_time"
        )

    def health(self) -> str:
        """The bureau's overall health status name (``SERVING`` when well)."""
        timeout = call_timeout(CALL_TIMEOUT_SECONDS)
        response = self._call(
            lambda: self._health.Check(health_pb2.HealthCheckRequest(service=""), timeout=timeout)
        )
        return str(health_pb2.HealthCheckResponse.ServingStatus.Name(response.status))

    def contribute_report_vector(self, request_hash: bytes, attempt: int, words: bytes) -> int:
        """Stream this member's masked holders-count vector (little-endian words) for one attempt."""
        step = 2 * WORDS_PER_CHUNK

        def chunks() -> Iterator[regulator_report_pb2.ContributeReportVectorRequest]:
            starts = range(0, max(len(words), 1), step)
            for index, start in enumerate(starts):
                yield regulator_report_pb2.ContributeReportVectorRequest(
                    header=new_header(),
                    chunk=regulator_report_pb2.ReportVectorChunk(
                        request_hash=request_hash,
                        attempt=attempt,
                        chunk_index=index,
                        last_chunk=start + step >= len(words),
                        words=words[start : start + step],
                    ),
                )

        timeout = call_timeout(VECTOR_TIMEOUT_SECONDS)
        response = self._call(lambda: self._stub.ContributeReportVector(chunks(), timeout=timeout))
        return response.received

    def fetch_report_vector(self, request_hash: bytes) -> tuple[bytes, int]:
        """The opened (still members-masked) holders count of a request, and its check value."""

        def read() -> tuple[bytes, int]:
            parts: list[bytes] = []
            check = 0
            request = regulator_report_pb2.FetchReportVectorRequest(
                header=new_header(), request_hash=request_hash
            )
            timeout = call_timeout(VECTOR_TIMEOUT_SECONDS)
            for response in self._stub.FetchReportVector(request, timeout=timeout):
                if response.chunk.chunk_index != len(parts):
                    raise ConfigError("the bureau sent the holders count out of order")
                parts.append(response.chunk.words)
                check = response.chunk.check
            return b"".join(parts), check

        return self._call(read)

    def close(self) -> None:
        """Close the channel."""
        self._channel.close()

    def _call(self, call: Callable[[], T]) -> T:
        try:
            return call()
        except grpc.RpcError as exc:
            raise error_from_rpc(exc, peer=f"bureau at {self.address}") from exc


@contextmanager
def bureau_client(settings: Settings, identity: TLSIdentity) -> Iterator[BureauClient]:
    """A client for the bureau this node's settings name (the bureau's own address on the bureau)."""
    # Operators' probes (status, doctor) send only directory and health requests, nothing from a store.
    client = BureauClient(
        identity, bureau_address(settings), bureau_member_id=settings.bureau_member_id, egress=None
    )
    try:
        yield client
    finally:
        client.close()


def bureau_address(settings: Settings) -> str:
    """The bureau's address: from ``[bureau] address``, or on the bureau from its runtime file.

    Raises
    ------
    ConfigError
        When neither is available.

    """
    if settings.bureau_address is not None:
        return settings.bureau_address
    runtime = settings.data_dir / RUNTIME_FILE
    try:
        return str(json.loads(runtime.read_text(encoding="utf-8"))["address"])
    except (OSError, ValueError, KeyError) as exc:
        raise ConfigError(
            f"no [bureau] address configured and {runtime} is unreadable; is the bureau running?"
        ) from exc


def _view(entry: bureau_pb2.DirectoryEntry) -> MemberView:
    keys = None
    if entry.HasField("keys") and entry.certificate_der:
        keys = PublishedKeys(
            certificate_der=entry.certificate_der,
            hpke_public_key=entry.keys.hpke_public_key,
            mask_public_key=entry.keys.mask_public_key,
            created_at=from_timestamp(entry.keys.created_at, field="keys.created_at"),
            signature=entry.keys.signature,
        )
    return MemberView(
        member_id=entry.member_id,
        role=role_from_proto(entry.role),
        address=entry.address,
        software_version=entry.software_version,
        protocol_version=entry.protocol_version,
        registered_at=from_timestamp(entry.registered_at, field="registered_at"),
        last_seen_at=(
            from_timestamp(entry.last_seen_at, field="last_seen_at")
            if entry.HasField("last_seen_at")
            else None
        ),
        keys=keys,
    )

"""One member certificate must not take the bureau offline (#17 item 3).

Before the fix, 20 client streams left idle by one member took all 16 server threads: every
other member's calls timed out and heartbeats stopped. Now one certificate may hold a bounded
number of streams, the rest are refused at once (RESOURCE_EXHAUSTED), idle streams are closed,
and everybody else keeps working throughout.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import grpc
import pytest

from gateway._proto.credgate.v1 import bureau_pb2, bureau_pb2_grpc
from gateway.identity.peer import Role
from gateway.identity.tls import TLSIdentity
from gateway.rpc.channel import open_channel
from gateway.rpc.status import reason_of

from .conftest import Processes

pytestmark = [pytest.mark.processes, pytest.mark.slow]

IDLE_STREAMS = 20
STREAMS_PER_PEER = 4
IDLE_SECONDS = 4


def test_twenty_idle_streams_from_one_member_leave_the_others_working(processes: Processes) -> None:
    bureau_settings, _, address = processes.bureau(
        extra=f"[server]\nmax_streams_per_peer = {STREAMS_PER_PEER}\nidle_stream_seconds = {IDLE_SECONDS}\n"
    )
    hostile, _ = processes.member("bank-1", Role.BANK, address)
    honest, _ = processes.member("bank-2", Role.BANK, address)
    processes.member("bank-3", Role.BANK, address)
    consortium = processes.consortium(bureau_settings, processes.started[0], address)
    consortium.wait_registered()

    hostile_channel = open_channel(
        TLSIdentity.from_settings(hostile.tls), address, peer_member_id="bureau", egress=None
    )
    honest_channel = open_channel(
        TLSIdentity.from_settings(honest.tls), address, peer_member_id="bureau", egress=None
    )
    silence = threading.Event()

    def nothing() -> Iterator[bytes]:
        silence.wait(120)
        return
        yield b""  # a generator that sends nothing until released

    open_stream = hostile_channel.stream_stream("/credgate.v1.BureauService/SubjectCheck")
    streams = [open_stream(nothing(), timeout=120) for _ in range(IDLE_STREAMS)]
    try:
        ended: list[grpc.RpcError] = []

        def drain(stream: Iterator[bytes]) -> None:
            try:
                for _ in stream:
                    pass
            except grpc.RpcError as exc:
                ended.append(exc)

        readers = [threading.Thread(target=drain, args=(s,), daemon=True) for s in streams]
        for reader in readers:
            reader.start()
        # While the hostile member holds its streams, the others' calls go through, every one.
        stub = bureau_pb2_grpc.BureauServiceStub(honest_channel)
        before = {v.member_id: v.last_seen_at for v in consortium.directory()}
        answered = [
            stub.GetDirectory(bureau_pb2.GetDirectoryRequest(), timeout=10).bureau_time.seconds
            for _ in range(10)
        ]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            after = {v.member_id: v.last_seen_at for v in consortium.directory()}
            if all((after[m] or before[m]) > before[m] for m in ("bank-2", "bank-3")):  # type: ignore[operator]
                break
            time.sleep(0.2)
        for reader in readers:
            reader.join(90)  # idle streams are closed after IDLE_SECONDS; a bound, not a timing check
    finally:
        silence.set()
        hostile_channel.close()
        honest_channel.close()

    assert len(answered) == 10
    assert all((after[m] or before[m]) > before[m] for m in ("bank-2", "bank-3")), "heartbeats stopped"  # type: ignore[operator]
    refused = [e for e in ended if e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED]
    closed = [e for e in ended if e.code() == grpc.StatusCode.CANCELLED]
    assert len(ended) == IDLE_STREAMS, "some idle streams were never closed"
    assert len(refused) == IDLE_STREAMS - STREAMS_PER_PEER
    assert {reason_of(e) for e in refused} == {"too_many_streams"}
    assert len(closed) == STREAMS_PER_PEER

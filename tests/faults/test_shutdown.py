"""SIGTERM always completes: after an undecodable message on a client-streaming RPC too (#17 item 5)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import grpc
import pytest

from gateway.demo.provision import BUREAU_ID
from gateway.identity.peer import Role
from gateway.identity.tls import TLSIdentity
from gateway.node.runtime import start_bureau
from gateway.rpc.channel import open_channel

from .conftest import Processes, ProvisionNode

pytestmark = [pytest.mark.processes, pytest.mark.slow]

# Field 31 with wire type 7, which does not exist: no protobuf parser accepts it.
UNDECODABLE = b"\xff\xff\xff\xff"


def test_sigterm_completes_after_an_undecodable_message_on_a_client_stream(processes: Processes) -> None:
    _, bureau, address = processes.bureau()
    bank_settings, _ = processes.member("bank-1", Role.BANK, address)
    channel = open_channel(
        TLSIdentity.from_settings(bank_settings.tls), address, peer_member_id="bureau", egress=None
    )
    contribute = channel.stream_unary("/credgate.v1.BureauService/ContributeReportVector")
    release = threading.Event()

    def garbage_then_silence() -> Iterator[bytes]:
        # The stream stays open after the bad message, as a broken or hostile client leaves it.
        yield UNDECODABLE
        release.wait(60)

    call = contribute.future(garbage_then_silence(), timeout=60)
    try:
        refused = call.exception(timeout=30)
        # NodeProcess.stop waits 30 s after SIGTERM, then aborts (-6 or -9): the bureau must exit 0 itself.
        code = bureau.stop()
    finally:
        release.set()
        channel.close()

    assert code == 0, bureau.log_tail(20)
    assert isinstance(refused, grpc.RpcError)
    assert refused.code() == grpc.StatusCode.INVALID_ARGUMENT, refused.details()
    assert "could not be decoded" in (refused.details() or "")


def test_the_server_stops_after_an_undecodable_message_while_the_client_stream_stays_open(
    provision: ProvisionNode,
) -> None:
    """In one process this hung ``server.stop(grace).wait()`` forever: gRPC's own abort of the
    undecodable message left the call unfinished, so the stop waited for it without end."""
    bureau = start_bureau(provision(BUREAU_ID, Role.BUREAU))
    bank = provision("bank-1", Role.BANK, bureau_address=bureau.address)
    channel = open_channel(
        TLSIdentity.from_settings(bank.tls), bureau.address, peer_member_id="bureau", egress=None
    )
    release = threading.Event()

    def garbage_then_silence() -> Iterator[bytes]:
        yield UNDECODABLE
        release.wait(60)

    call = channel.stream_unary("/credgate.v1.BureauService/ContributeReportVector").future(
        garbage_then_silence(), timeout=60
    )
    refused = call.exception(timeout=30)
    outcome: list[bool] = []
    stopper = threading.Thread(target=lambda: outcome.append(bureau.server.stop(1.0)), daemon=True)
    try:
        stopper.start()
        stopper.join(60)  # a liveness bound, not a timing assertion: before the fix it never ended
    finally:
        release.set()
        channel.close()
        bureau.stop()

    assert isinstance(refused, grpc.RpcError) and refused.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert outcome == [True], "the server's stop did not complete"

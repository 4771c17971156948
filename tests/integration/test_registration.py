"""A registration with a wrong address gets corrected (#17 item 7).

It was kept for as long as the member sent heartbeats, and every check then waited the
member deadline on it. Heartbeats now carry the member's address and the bureau corrects it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from gateway._proto.credgate.v1 import bureau_pb2, bureau_pb2_grpc
from gateway.node.runtime import RunningNode
from gateway.rpc.channel import open_channel
from gateway.store.repositories.members import MemberDirectory


def test_a_wrong_registered_address_is_corrected_by_the_next_heartbeats(
    bureau: RunningNode, start_members: Callable[..., RunningNode]
) -> None:
    bank = start_members("bank-1")
    assert bank.link is not None and bank.link.registered.wait(10)
    members = MemberDirectory(bureau.store)
    channel = open_channel(bank.identity, bureau.address, peer_member_id="bureau", egress=None)
    stub = bureau_pb2_grpc.BureauServiceStub(channel)
    wrong = ""
    # On a loaded machine a heartbeat can correct the address before we read it back: register
    # again until the wrong address is seen stored.
    for _ in range(20):
        stub.Register(
            bureau_pb2.RegisterRequest(
                advertised_address="127.0.0.1:9", software_version="1", protocol_version="credgate.v1"
            ),
            timeout=10,
        )
        wrong = members.get("bank-1").address
        if wrong == "127.0.0.1:9":
            break
    channel.close()

    deadline = time.monotonic() + 30
    while members.get("bank-1").address != bank.address and time.monotonic() < deadline:
        time.sleep(0.1)

    assert wrong == "127.0.0.1:9"
    assert members.get("bank-1").address == bank.address
